"""The simulated web page of the web-agent skill, in plain Python (no model): built from a page sketch, shown as an
accessibility tree with element ids, and changed by browser actions.

The model writes only a sketch, one element a line (`link: Opening hours`, `field: Email`, `select: Station: Harbor |
University`, `text: ...`); Python turns it into the page deterministically, so every id on it is real:

    Page: Lindau Bay Bike Share
    [31] heading 'Lindau Bay Bike Share'
    [32] link 'Prices'
    [33] textbox 'Search stations'
    [34] button 'Search'
    [35] combobox 'Station' options: 'Ferry terminal' | 'University'
    ...
    (4 more elements below; scroll down to see them)

`Browser` applies the five actions (`click`, `type`, `select`, `scroll`, `stop`) and says what changed, which becomes
the `tool` turn after each call. The validators read pages back with `listed_elements` (any text holding lines of the
rendered form), never by replaying the simulation, so they judge conversations made elsewhere too.
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass, field

ROLES = ("heading", "link", "button", "textbox", "combobox", "checkbox", "text", "row")
INTERACTIVE = frozenset({"link", "button", "textbox", "combobox", "checkbox"})
TYPABLE = frozenset({"textbox"})
CLICKABLE = frozenset({"link", "button", "checkbox", "row"})
SELECTABLE = frozenset({"combobox"})
ACTIONS = ("click", "type", "select", "scroll", "stop")
FOLD = 8
"""Elements shown before the first scroll, when the page has more than `FOLD + 2` of them."""
MAX_ELEMENTS = 30
MAX_LABEL = 60
MAX_TEXT = 200

_SKETCH_ROLE = {
    "title": "heading",
    "page": "heading",
    "heading": "heading",
    "header": "heading",
    "section": "heading",
    "link": "link",
    "nav": "link",
    "menu": "link",
    "tab": "link",
    "button": "button",
    "submit": "button",
    "search": "search",
    "searchbox": "search",
    "field": "textbox",
    "input": "textbox",
    "textbox": "textbox",
    "textarea": "textbox",
    "select": "combobox",
    "dropdown": "combobox",
    "combobox": "combobox",
    "choice": "combobox",
    "checkbox": "checkbox",
    "tick": "checkbox",
    "text": "text",
    "paragraph": "text",
    "note": "text",
    "row": "row",
    "item": "row",
}
_SKETCH_LINE = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])?\s*([A-Za-z]+)\s*:\s*(.+?)\s*$")
_TREE_LINE = re.compile(r"^\s*\[(\d+)\]\s+([a-z]+)\s+'([^']*)'(?:\s+options:\s+(.*?))?(?:\s+value:\s+'[^']*')?\s*$")
_OPTION = re.compile(r"'([^']*)'")


@dataclass(frozen=True)
class Element:
    """One node of the accessibility tree."""

    id: int
    role: str
    label: str
    options: tuple[str, ...] = ()

    def line(self) -> str:
        text = f"[{self.id}] {self.role} '{self.label}'"
        if self.options:
            text += " options: " + " | ".join(f"'{option}'" for option in self.options)
        return text


@dataclass(frozen=True)
class Page:
    """A page: its title and elements in reading order; the first `fold` are visible before scrolling."""

    title: str
    elements: tuple[Element, ...]
    fold: int

    @property
    def below(self) -> tuple[Element, ...]:
        return self.elements[self.fold :]

    def element(self, element_id: int) -> Element | None:
        return next((e for e in self.elements if e.id == element_id), None)

    def render(self, revealed: bool = False) -> str:
        """The accessibility tree as the agent sees it; below-the-fold elements only once `revealed`."""
        shown = self.elements if revealed else self.elements[: self.fold]
        lines = [f"Page: {self.title}", *(e.line() for e in shown)]
        if not revealed and self.below:
            lines.append(f"({len(self.below)} more elements below; scroll down to see them)")
        return "\n".join(lines)

    @property
    def interactive(self) -> list[Element]:
        return [e for e in self.elements if e.role in INTERACTIVE]


def clean_label(label: str, limit: int) -> str:
    label = " ".join(label.split()).strip(" \"'*`").replace("'", "\u2019")
    return label if len(label) <= limit else label[: limit - 3].rstrip() + "..."


def _options(text: str) -> tuple[str, tuple[str, ...]]:
    """`Station: Harbor | University` (or commas, or slashes) -> ("Station", ("Harbor", "University"))."""
    label, _, rest = text.partition(":")
    if not rest.strip():
        label, rest = "Choose", text
    parts = re.split(r"\s*\|\s*|\s*/\s*|\s*;\s*" if re.search(r"[|/;]", rest) else r"\s*,\s*|\s+or\s+", rest)
    options: list[str] = []
    for part in parts:
        option = clean_label(part, MAX_LABEL)
        if option and option.lower() not in (o.lower() for o in options):
            options.append(option)
    return clean_label(label, MAX_LABEL), tuple(options)


def first_id(sketch: str) -> int:
    """Where a page's ids start: fixed by its sketch, so the same sketch always gives the same ids, and pages differ
    (a model trained on them must read ids off the page, not count from 1)."""
    return 10 + zlib.crc32(sketch.strip().encode("utf-8")) % 90


def page_from_sketch(sketch: str) -> Page:
    """The page a sketch describes. Lenient: a line without a known role word is page text (a markdown heading a
    heading, a markdown table row a row, a long paragraph one text element a sentence), list markers and quotes are
    dropped, duplicates are skipped, a search box gets its Search button, a select with fewer than two options
    becomes a text box, and the page is cut at `MAX_ELEMENTS`. A page with nothing to act on (plain text: the identity
    transformation, or a model that copied its text instead of sketching) becomes an article page with a contents
    menu (one link per section heading) and a search box."""
    parsed: list[tuple[str, str, tuple[str, ...]]] = []
    for raw in sketch.splitlines():
        if raw.strip():
            parsed += _sketch_line(raw)
    if not any(role in INTERACTIVE for role, _, _ in parsed):
        # Plain text (the identity transformation, or a model that copied its input): an article page with a
        # contents menu of its section headings and the site's search box.
        sections = [label for role, label, _ in parsed if role == "heading"][1:]
        top = 1 if parsed and parsed[0][0] == "heading" else 0
        parsed[top:top] = [("link", label, ()) for label in sections] + [
            ("textbox", "Search", ()),
            ("button", "Search", ()),
        ]
    seen: set[tuple[str, str]] = set()
    unique = []
    for role, label, options in parsed:
        if label and (role, label.lower()) not in seen:
            seen.add((role, label.lower()))
            unique.append((role, label, options))
    unique = unique[:MAX_ELEMENTS]
    start = first_id(sketch)
    elements = tuple(Element(start + i, role, label, options) for i, (role, label, options) in enumerate(unique))
    title = next((e.label for e in elements if e.role == "heading"), "")
    first_text = next((e.label for e in elements if e.role in ("text", "row")), "")
    title = title or " ".join(first_text.split()[:6]).rstrip(".,;:") or "Untitled page"
    fold = FOLD if len(elements) > FOLD + 2 else len(elements)
    return Page(clean_label(title, MAX_LABEL), elements, fold)


_MARKDOWN_HEADING = re.compile(r"^\s*#{1,6}\s+(.+)$")
_TABLE_RULE = re.compile(r"^[\s|:-]+$")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])")


def _sketch_line(raw: str) -> list[tuple[str, str, tuple[str, ...]]]:
    """The elements one sketch line makes: (role, label, options)."""
    heading = _MARKDOWN_HEADING.match(raw)
    if heading:
        return [("heading", clean_label(heading.group(1), MAX_LABEL), ())]
    if raw.strip().startswith("|"):
        if _TABLE_RULE.match(raw):
            return []
        cells = [cell.strip() for cell in raw.strip().strip("|").split("|")]
        return [("row", clean_label(" | ".join(cells), MAX_TEXT), ())]
    match = _SKETCH_LINE.match(raw)
    word = match.group(1).lower() if match else ""
    role = _SKETCH_ROLE.get(word) or _SKETCH_ROLE.get(word.removesuffix("s"))  # "links:", "fields:"
    if not role:
        value = raw.strip(" -*\u2022")
        return [("text", clean_label(part, MAX_TEXT), ()) for part in _SENTENCE_END.split(value)]
    value = match.group(2)
    if role in ("link", "button") and ("|" in value or word in ("links", "menu", "nav", "buttons")):
        # "link: Home | Prices | Contact" (or a menu of commas): one element each.
        return [(role, clean_label(part, MAX_LABEL), ()) for part in re.split(r"\s*[|,;]\s*", value)]
    if role == "combobox":
        label, options = _options(value)
        if len(options) >= 2:
            return [("combobox", label, options)]
        role, value = "textbox", label
    if role == "search":
        return [("textbox", clean_label(value, MAX_LABEL), ()), ("button", "Search", ())]
    if role == "text":
        return [("text", clean_label(part, MAX_TEXT), ()) for part in _SENTENCE_END.split(value)]
    return [(role, clean_label(value, MAX_TEXT if role == "row" else MAX_LABEL), ())]


def listed_elements(text: str) -> dict[int, Element]:
    """The elements a rendered page (or a tool turn) lists, by id: what an agent could act on after reading it."""
    found: dict[int, Element] = {}
    for line in (text or "").splitlines():
        match = _TREE_LINE.match(line)
        if match and match.group(2) in ROLES:
            options = tuple(_OPTION.findall(match.group(4) or ""))
            found[int(match.group(1))] = Element(int(match.group(1)), match.group(2), match.group(3), options)
    return found


# --------------------------------------------------------------------------------------------------------------------
# Actions
# --------------------------------------------------------------------------------------------------------------------


def _schema(name: str, description: str, properties: dict, required: list[str]) -> dict:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {"type": "object", "properties": properties, "required": required},
        },
    }


_ID = {"type": "integer", "description": "The id in square brackets of an element on the page."}
TOOLS: list[dict] = [
    _schema("click", "Click a link, button or checkbox on the page.", {"element_id": _ID}, ["element_id"]),
    _schema(
        "type",
        "Type text into a text box on the page.",
        {"element_id": _ID, "text": {"type": "string", "description": "The text to type."}},
        ["element_id", "text"],
    ),
    _schema(
        "select",
        "Choose an option of a combobox (drop-down list) on the page.",
        {"element_id": _ID, "option": {"type": "string", "description": "One of the combobox's options."}},
        ["element_id", "option"],
    ),
    _schema(
        "scroll",
        "Scroll the page to see elements above or below the visible part.",
        {"direction": {"type": "string", "enum": ["up", "down"]}},
        ["direction"],
    ),
    _schema(
        "stop",
        "End the task: give the answer the task asks for, or say why it cannot be done on this page.",
        {"answer": {"type": "string", "description": "The answer, or what was done, or why it cannot be done."}},
        ["answer"],
    ),
]
"""The browser functions offered to the agent (OpenAI tool schemas): the record's `tools` column."""

ARGUMENTS: dict[str, dict[str, type]] = {
    "click": {"element_id": int},
    "type": {"element_id": int, "text": str},
    "select": {"element_id": int, "option": str},
    "scroll": {"direction": str},
    "stop": {"answer": str},
}


@dataclass(frozen=True)
class Action:
    """One browser action with its arguments (as the tool call carries them)."""

    name: str
    arguments: dict

    def short(self) -> str:
        """`click [12]`, `type [13] 'tires'`, `scroll down`, `stop 'answer'`: how the history lists it."""
        parts = [self.name]
        if "element_id" in self.arguments:
            parts.append(f"[{self.arguments['element_id']}]")
        if "direction" in self.arguments:
            parts.append(self.arguments["direction"])
        for key in ("text", "option", "answer"):
            if key in self.arguments:
                parts.append(f"'{self.arguments[key]}'")
        return " ".join(parts)

    def arguments_json(self) -> str:
        return json.dumps(self.arguments, ensure_ascii=False)


_SYNONYMS = {
    "click": "click",
    "press": "click",
    "open": "click",
    "follow": "click",
    "tap": "click",
    "tick": "click",
    "check": "click",
    "submit": "click",
    "type": "type",
    "enter": "type",
    "fill": "type",
    "write": "type",
    "input": "type",
    "select": "select",
    "choose": "select",
    "pick": "select",
    "scroll": "scroll",
    "stop": "stop",
    "answer": "stop",
    "done": "stop",
    "finish": "stop",
    "end": "stop",
}
_VERB = re.compile(r"\b(" + "|".join(_SYNONYMS) + r")\b", re.IGNORECASE)
_NUMBER = re.compile(r"\[?\s*(\d{1,4})\s*\]?")
_QUOTED = re.compile(r"[\"'\u2018\u201c]([^\"'\u2019\u201d]+)[\"'\u2019\u201d]")


@dataclass(frozen=True)
class ParsedAction:
    """What a model's action line says: the verb, the element id and the value it names (any may be missing)."""

    name: str
    element_id: int | None
    value: str


def parse_action(line: str) -> ParsedAction | None:
    """Read `click [12]`, `type [13] "flat tire"`, `select 20 'University'`, `scroll down`, `stop "..."` leniently:
    the first action word (or a synonym: press, enter, choose, answer, ...), the first number after it, and the
    quoted text (or the rest of the line) as the value. None when no action word is there."""
    text = " ".join((line or "").split())
    verb = _VERB.search(text)
    if not verb:
        return None
    name = _SYNONYMS[verb.group(1).lower()]
    rest = text[verb.end() :]
    element_id = None
    if name in ("click", "type", "select"):
        number = _NUMBER.search(rest)
        if number:
            element_id = int(number.group(1))
            rest = rest[number.end() :]
    quoted = _QUOTED.search(rest)
    value = quoted.group(1) if quoted else rest
    value = value.strip(" :=-\u2014\"'").removeprefix("with ").removeprefix("into ").strip()
    if name == "scroll":
        value = "up" if re.search(r"\bup\b|\btop\b", rest, re.IGNORECASE) else "down"
    return ParsedAction(name, element_id, value)


# --------------------------------------------------------------------------------------------------------------------
# The simulated browser
# --------------------------------------------------------------------------------------------------------------------


@dataclass
class Browser:
    """The page in a tab: what is visible, what was typed and chosen, and a sub-page opened by a link."""

    page: Page
    revealed: bool = False
    values: dict[int, str] = field(default_factory=dict)
    checked: set[int] = field(default_factory=set)
    opened: Page | None = None
    """The page a link opened (its heading, the matching text of the first page, and a Back link)."""
    stopped: bool = False

    @property
    def current(self) -> Page:
        return self.opened or self.page

    def view(self) -> str:
        """The current page as the agent sees it now (with typed values and chosen options)."""
        if self.opened is not None:
            return self.opened.render(revealed=True)
        lines = self.page.render(self.revealed).splitlines()
        for element_id, value in self.values.items():
            element = self.page.element(element_id)
            if element is not None:
                lines = [f"{line} value: '{value}'" if line == element.line() else line for line in lines]
        return "\n".join(lines)

    def visible(self) -> dict[int, Element]:
        """The elements the agent can act on now."""
        if self.opened is not None:
            return {e.id: e for e in self.opened.elements}
        shown = self.page.elements if self.revealed else self.page.elements[: self.page.fold]
        return {e.id: e for e in shown}

    def _next_id(self) -> int:
        pages = [self.page, *([self.opened] if self.opened else [])]
        return max((e.id for page in pages for e in page.elements), default=0) + 1

    def apply(self, action: Action) -> str:
        """Carry out one action and return what the page now shows (the `tool` turn's text)."""
        name, arguments = action.name, action.arguments
        if name == "stop":
            self.stopped = True
            return "The task is over."
        if name == "scroll":
            if self.opened is not None:
                return "The whole page is already visible."
            if arguments["direction"] == "down":
                if self.revealed or not self.page.below:
                    return "You are at the bottom of the page; there is nothing more below."
                self.revealed = True
                count = len(self.page.below)
                return f"Scrolled down; {count} more elements are visible:\n" + "\n".join(
                    e.line() for e in self.page.below
                )
            top = self.page.elements[: self.page.fold]
            return "Scrolled up to the top of the page:\n" + "\n".join(e.line() for e in top)
        element = self.visible().get(arguments["element_id"])
        if element is None:
            return f"There is no element [{arguments['element_id']}] on the visible page."
        if name == "type":
            if element.role not in TYPABLE:
                return f"{element.line()} is not a text box; nothing was typed."
            self.values[element.id] = arguments["text"]
            return f"{element.line()} now holds '{arguments['text']}'."
        if name == "select":
            if element.role not in SELECTABLE:
                return f"{element.line()} is not a drop-down list; nothing was chosen."
            self.values[element.id] = arguments["option"]
            return f"{element.line().split(' options:')[0]} now shows '{arguments['option']}'."
        return self._click(element)

    def _click(self, element: Element) -> str:
        if element.role == "checkbox":
            if element.id in self.checked:
                self.checked.discard(element.id)
                return f"{element.line()} is now unchecked."
            self.checked.add(element.id)
            return f"{element.line()} is now checked."
        if element.role == "link":
            if self.opened is not None and element.label.lower() == "back":
                self.opened = None
                return "Back on the first page:\n" + self.view()
            self.opened = self._subpage(element)
            return f"Opened '{element.label}':\n" + self.opened.render(revealed=True)
        if element.role == "button":
            return self._press(element)
        return f"{element.line()} is not a link or button; nothing happened."

    def _subpage(self, link: Element) -> Page:
        """What a link opens: a page with its heading, the first page's text under the heading of the same name (or
        else the text that shares the link's words), and Back."""
        elements = self.page.elements
        section = next((i for i, e in enumerate(elements) if e.role == "heading" and e.label == link.label), None)
        if section is not None:  # a contents link: the section under its heading
            following = elements[section + 1 :]
            end = next((i for i, e in enumerate(following) if e.role == "heading"), len(following))
            related = [e for e in following[:end] if e.role in ("text", "row")][:6]
        else:
            asked = _content(link.label)
            related = [e for e in elements if e.role in ("text", "row") and asked & _content(e.label)][:4]
        start = self._next_id()
        elements = [Element(start, "heading", link.label)]
        elements += [Element(start + 1 + i, e.role, e.label) for i, e in enumerate(related)]
        if not related:
            elements.append(Element(start + 1, "text", f"This page about {link.label} has no further details."))
        elements.append(Element(elements[-1].id + 1, "link", "Back"))
        return Page(link.label, tuple(elements), len(elements))

    def _press(self, button: Element) -> str:
        filled = {self.page.element(i): v for i, v in self.values.items() if self.page.element(i) is not None}
        searches = [(e, v) for e, v in filled.items() if "search" in e.label.lower() or "find" in e.label.lower()]
        if button.label.lower() == "search" or (searches and len(filled) == 1):
            if not searches:
                return "The search box is empty; nothing was searched."
            term = searches[-1][1]
            hits = [e for e in self.page.elements if e.role != "textbox" and _content(term) & _content(e.label)]
            if not hits:
                return f"No results for '{term}'."
            return f"Results for '{term}':\n" + "\n".join(e.line() for e in hits[:5])
        if filled or self.checked:
            sent = [f"{e.label} = '{v}'" for e, v in filled.items()]
            sent += [f"{self.page.element(i).label} = checked" for i in sorted(self.checked)]
            return f"Pressed {button.line()}. The form was sent with: " + "; ".join(sent) + "."
        return f"Pressed {button.line()}. The page did not change."


def _content(text: str) -> set[str]:
    from agentinstruct.metrics.grounding import content_stems

    return content_stems(text)
