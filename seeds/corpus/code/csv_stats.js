'use strict';

/**
 * Compute the mean and median of each numeric column in CSV text.
 * Assumes a header row, comma separators and no quoted fields.
 * Non-numeric or empty cells are skipped.
 *
 * @param {string} csvText - Raw CSV content.
 * @returns {Object<string, {count: number, mean: number, median: number}>}
 */
function columnStats(csvText) {
  const lines = csvText.split(/\r?\n/).filter((line) => line.trim() !== '');
  if (lines.length === 0) {
    return {};
  }
  const headers = lines[0].split(',').map((h) => h.trim());
  const columns = headers.map(() => []);

  for (const line of lines.slice(1)) {
    const cells = line.split(',');
    headers.forEach((_, i) => {
      const raw = (cells[i] || '').trim();
      const value = Number(raw);
      if (raw !== '' && Number.isFinite(value)) {
        columns[i].push(value);
      }
    });
  }

  const result = {};
  headers.forEach((name, i) => {
    const values = columns[i];
    if (values.length === 0) {
      return; // non-numeric column
    }
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    const median = sorted.length % 2 === 0
      ? (sorted[mid - 1] + sorted[mid]) / 2
      : sorted[mid];
    const mean = values.reduce((sum, v) => sum + v, 0) / values.length;
    result[name] = { count: values.length, mean, median };
  });
  return result;
}

module.exports = { columnStats };

if (require.main === module) {
  const sample = 'city,temp,rain\nOslo,4,12\nLima,19,0\nPune,27,3\nNome,-6,\n';
  console.log(columnStats(sample));
}
