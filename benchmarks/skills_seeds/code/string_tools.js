// Small string helpers for a note-taking app.

/** Turn a title into a URL slug: lower case, words joined by hyphens, punctuation dropped. */
function slugify(title) {
  return title
    .toLowerCase()
    .replace(/[^a-z0-9\s-]/g, "")
    .trim()
    .split(/\s+/)
    .join("-");
}

/** Count the words in a text (runs of non-space characters). */
function wordCount(text) {
  const words = text.trim().split(/\s+/);
  return words[0] === "" ? 0 : words.length;
}

/** Shorten a text to at most `limit` characters, ending with "..." when it was cut. */
function truncate(text, limit) {
  if (text.length <= limit) return text;
  return text.slice(0, Math.max(0, limit - 3)) + "...";
}

module.exports = { slugify, wordCount, truncate };
