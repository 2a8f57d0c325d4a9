"""Function schemas for the tool-use skill, read deterministically from an API listing or from source code.

A small model cannot write JSON schemas, so the tool-use skill's transformations write (or keep) text this module can
read without a model:

- an API listing, one function a line: `name(param: type, param2: type = default) - what it does`
  (types: string, integer, number, boolean, array, object; Python and JavaScript type names are accepted too),
- Python source (functions and public methods, read with `ast`; annotations, defaults, `Literal` enums and docstring
  `Args:` give the schema),
- JavaScript source (`function name(a, b)` and arrow functions, with their JSDoc `@param {type} name - text`).

Each function becomes an OpenAI tool schema, `{"type": "function", "function": {"name", "description", "parameters"}}`,
whose `parameters` is a JSON schema of an object with `additionalProperties: false`. The same module coerces a
model's argument text to a parameter's type and says whether a value is grounded in the conversation (stated by the
user or by an earlier tool result): the responder and the validators use the same rules.

Pure Python: no model, no DSPy.
"""

from __future__ import annotations

import ast
import json
import math
import re
from collections.abc import Iterable
from typing import Any

from agentinstruct.metrics.grounding import CARDINAL_WORDS

MAX_TOOLS = 12
"""At most this many functions are offered from one API list (a long file would crowd a small model's prompt)."""
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")
"""An OpenAI function name (letters, digits, underscores and hyphens, at most 64)."""

_TYPE_NAMES = {
    "str": "string",
    "string": "string",
    "text": "string",
    "char": "string",
    "int": "integer",
    "integer": "integer",
    "long": "integer",
    "float": "number",
    "double": "number",
    "number": "number",
    "decimal": "number",
    "numeric": "number",
    "real": "number",
    "bool": "boolean",
    "boolean": "boolean",
    "list": "array",
    "array": "array",
    "tuple": "array",
    "set": "array",
    "sequence": "array",
    "iterable": "array",
    "dict": "object",
    "object": "object",
    "mapping": "object",
    "map": "object",
}
_INTEGER_NAME = re.compile(
    r"(?:^|_)(?:count|n|num|number|size|capacity|limit|quantity|qty|tokens|times|index|idx|age|year|days|hours|"
    r"minutes|seconds|retries|page|level|servings|width|height|length|port|id)$",
    re.IGNORECASE,
)
_NUMBER_NAME = re.compile(
    r"(?:^|_)(?:rate|price|amount|cost|total|ratio|percent|percentage|celsius|fahrenheit|kelvin|temperature|temp|"
    r"weight|distance|speed|lat|latitude|lon|longitude|x|y|kg|km|grams|meters|factor|score)$",
    re.IGNORECASE,
)
_BOOLEAN_NAME = re.compile(r"^(?:is|has|use|enable|allow|include|show|force|dry)_|^(?:verbose|strict|reverse)$")
_ARRAY_NAME = re.compile(r"(?:values|numbers|items|readings|scores|names|tags|words|list|ids)$", re.IGNORECASE)


# --------------------------------------------------------------------------------------------------------------------
# Reading functions from text
# --------------------------------------------------------------------------------------------------------------------


def tools_from_text(text: str) -> list[dict]:
    """The functions an API list or a piece of source code offers, as OpenAI tool schemas (possibly none).

    Python source is read with `ast` (a chunk cut mid-function is read line by line instead); JavaScript by its
    function declarations; anything else as an API listing, one function a line.
    """
    found: list[dict] = []
    for reader in (_python_tools, _javascript_tools, _listing_tools):
        found = reader(text)
        if found:
            break
    unique: dict[str, dict] = {}
    for tool in found:
        unique.setdefault(tool["function"]["name"], tool)
    return list(unique.values())[:MAX_TOOLS]


def make_tool(name: str, description: str, params: list[dict]) -> dict:
    """An OpenAI tool schema. `params`: dicts with `name`, `type`, optional `description`, `default`, `enum`,
    `items` and `required` (default: required unless a default is given)."""
    properties: dict[str, dict] = {}
    required: list[str] = []
    for param in params:
        schema: dict[str, Any] = {"type": param.get("type") or "string"}
        schema["description"] = param.get("description") or f"The {humanize(param['name'])}."
        if schema["type"] == "array":
            schema["items"] = {"type": param.get("items") or "string"}
        if param.get("enum"):
            schema["enum"] = list(param["enum"])
        if "default" in param and param["default"] is not None and _fits(param["default"], schema):
            schema["default"] = param["default"]
        properties[param["name"]] = schema
        if param.get("required", "default" not in param):
            required.append(param["name"])
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": _sentence(description) or f"{humanize(name).capitalize()}.",
            "parameters": {
                "type": "object",
                "properties": properties,
                "required": required,
                "additionalProperties": False,
            },
        },
    }


def _fits(value: Any, schema: dict) -> bool:
    kind = schema["type"]
    checks = {
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "array": lambda v: isinstance(v, list),
        "object": lambda v: isinstance(v, dict),
    }
    return checks.get(kind, lambda v: True)(value)


def _sentence(text: str) -> str:
    """The first paragraph of a docstring, on one line."""
    paragraph = re.split(r"\n\s*\n", (text or "").strip(), maxsplit=1)[0]
    return " ".join(paragraph.split())[:300]


def humanize(name: str) -> str:
    """`celsius_to_fahrenheit` / `wordCount` -> "celsius to fahrenheit" / "word count"."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).replace("_", " ").replace("-", " ").replace(".", " ")
    return " ".join(spaced.lower().split())


def snake(name: str) -> str:
    """`LRUCache` -> "lru_cache", `TokenBucket` -> "token_bucket"."""
    name = re.sub(r"(?<=[A-Z])(?=[A-Z][a-z])|(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return name.lower()


def json_type(name: str | None) -> str | None:
    """A JSON schema type for a type name written in a listing or an annotation ("float" -> "number")."""
    if not name:
        return None
    base = re.split(r"[\[<(|]", name.strip().strip("'\"`{}").lower(), maxsplit=1)[0].strip()
    base = base.removeprefix("typing.").removesuffix("[]")
    if name.strip().endswith("[]"):
        return "array"
    return _TYPE_NAMES.get(base)


def _guess_type(name: str, default: Any = None) -> str:
    """A parameter's type from its default value, else from its name ("count" -> integer, "price" -> number)."""
    if isinstance(default, bool):
        return "boolean"
    if isinstance(default, int):
        return "integer"
    if isinstance(default, float):
        return "number"
    if isinstance(default, str):
        return "string"
    if isinstance(default, list | tuple):
        return "array"
    if isinstance(default, dict):
        return "object"
    if _BOOLEAN_NAME.search(name):
        return "boolean"
    if _INTEGER_NAME.search(name):
        return "integer"
    if _NUMBER_NAME.search(name):
        return "number"
    if _ARRAY_NAME.search(name):
        return "array"
    return "string"


# ---- Python ----


def _python_tools(text: str) -> list[dict]:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return _python_lines(text)
    tools: list[dict] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not node.name.startswith("_"):
            tools.append(_python_function(node, node.name))
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and not item.name.startswith("_"):
                    if any(_decorator_name(d) in ("property", "setter") for d in item.decorator_list):
                        continue
                    tools.append(_python_function(item, f"{snake(node.name)}_{item.name}", method=True))
    return [tool for tool in tools if tool is not None]


def _decorator_name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _python_function(node: ast.FunctionDef | ast.AsyncFunctionDef, name: str, method: bool = False) -> dict:
    docstring = ast.get_docstring(node) or ""
    described = _docstring_params(docstring)
    args = node.args
    positional = [*args.posonlyargs, *args.args]
    if method and positional and positional[0].arg in ("self", "cls"):
        positional = positional[1:]
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    pairs = list(zip(positional, defaults, strict=True)) + list(zip(args.kwonlyargs, args.kw_defaults, strict=True))
    params = []
    for arg, default_node in pairs:
        param: dict[str, Any] = {"name": arg.arg, "description": described.get(arg.arg)}
        if default_node is not None:
            try:
                default = ast.literal_eval(default_node)
            except (ValueError, SyntaxError, TypeError):
                continue  # a default that is code (a clock, a callable): not something a caller passes as JSON
            param["default"] = default
        else:
            default = None
        param.update(_annotation_schema(arg.annotation))
        param["type"] = param.get("type") or _guess_type(arg.arg, default)
        params.append(param)
    description = docstring or f"{humanize(name).capitalize()}."
    return make_tool(name, _before_sections(description), params)


def _annotation_schema(node: ast.expr | None) -> dict[str, Any]:
    """`float` -> number, `list[float]` -> array of number, `Literal["a", "b"]` -> enum, `X | None` -> X."""
    if node is None:
        return {}
    if isinstance(node, ast.Constant) and isinstance(node.value, str):  # a string annotation
        try:
            return _annotation_schema(ast.parse(node.value, mode="eval").body)
        except SyntaxError:
            return {}
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        for side in (node.left, node.right):
            if not (isinstance(side, ast.Constant) and side.value is None):
                return _annotation_schema(side)
        return {}
    if isinstance(node, ast.Subscript):
        outer = _decorator_name(node.value)
        inner = node.slice
        if outer == "Optional":
            return _annotation_schema(inner)
        if outer == "Literal":
            values = inner.elts if isinstance(inner, ast.Tuple) else [inner]
            enum = [v.value for v in values if isinstance(v, ast.Constant)]
            kind = _guess_type("", enum[0]) if enum else "string"
            return {"type": kind, "enum": enum}
        kind = json_type(outer)
        if kind == "array":
            item = inner.elts[0] if isinstance(inner, ast.Tuple) and inner.elts else inner
            return {"type": "array", "items": _annotation_schema(item).get("type") or "string"}
        return {"type": kind} if kind else {}
    if isinstance(node, ast.Name | ast.Attribute):
        kind = json_type(_decorator_name(node))
        return {"type": kind} if kind else {}
    return {}


_SECTION = re.compile(r"^\s*(?:Args|Arguments|Parameters|Params|Returns?|Raises|Yields|Examples?)\s*:?\s*$", re.M)


def _before_sections(docstring: str) -> str:
    return _SECTION.split(docstring, maxsplit=1)[0]


def _docstring_params(docstring: str) -> dict[str, str]:
    """Parameter descriptions from a Google-style `Args:` section or reST `:param name:` lines."""
    found: dict[str, str] = {}
    for name, text in re.findall(r":param\s+(?:\w+\s+)?(\w+):\s*(.+)", docstring):
        found[name] = text.strip()
    section = re.search(r"^\s*(?:Args|Arguments|Parameters)\s*:\s*\n((?:\s+.+\n?)+)", docstring, re.M)
    if section:
        for name, text in re.findall(r"^\s+(\w+)(?:\s*\([^)]*\))?\s*:\s*(.+)$", section.group(1), re.M):
            found.setdefault(name, text.strip())
    return found


_PY_DEF = re.compile(r"^(\s*)(?:async\s+)?def\s+([A-Za-z]\w*)\s*\((.*?)\)\s*(?:->\s*[^:]+)?:", re.M)


def _python_lines(text: str) -> list[dict]:
    """`def` lines of Python that does not parse as a whole (a seed chunk cut mid-function)."""
    tools = []
    for match in _PY_DEF.finditer(text):
        indent, name, params = match.groups()
        if indent or name.startswith("_"):
            continue  # methods need their class, which a cut chunk may not show
        tools.append(_listing_tool(name, params, ""))
    return [tool for tool in tools if tool is not None]


# ---- JavaScript ----

_JS_FUNCTION = re.compile(
    r"(?:/\*\*(?P<doc>(?:(?!\*/).)*?)\*/\s*)?"
    r"(?:export\s+)?(?:async\s+)?(?:function\s+(?P<name>[A-Za-z_$][\w$]*)\s*\((?P<params>[^)]*)\)"
    r"|(?:const|let|var)\s+(?P<arrow>[A-Za-z_$][\w$]*)\s*=\s*(?:async\s+)?(?:function\s*)?\((?P<arrow_params>[^)]*)\)"
    r"\s*(?:=>)?)",
    re.DOTALL,
)


def _javascript_tools(text: str) -> list[dict]:
    if not re.search(r"\bfunction\b|=>", text) or re.search(r"^\s*def\s", text, re.M):
        return []
    tools = []
    for match in _JS_FUNCTION.finditer(text):
        name = match.group("name") or match.group("arrow")
        raw = match.group("params") if match.group("name") else match.group("arrow_params")
        if not name or name.startswith("_") or "{" in (raw or "") or "[" in (raw or ""):
            continue
        doc = match.group("doc") or ""
        lines = [re.sub(r"^\s*\*\s?", "", line).strip() for line in doc.splitlines()]
        description = " ".join(line for line in lines if line and not line.startswith("@"))
        described = {
            param: (kind, text)
            for kind, param, text in re.findall(r"@param\s+\{([^}]*)\}\s+\[?(\w+)[^\s]*\s*(?:-\s*)?(.*)", doc)
        }
        params = []
        for part in _split_params(raw or ""):
            pname, _, default_text = part.partition("=")
            pname = pname.strip().removeprefix("...")
            if not re.fullmatch(r"[A-Za-z_$][\w$]*", pname):
                continue
            kind, text = described.get(pname, ("", ""))
            param: dict[str, Any] = {"name": pname, "description": text.strip() or None}
            default = _literal(default_text.strip()) if default_text.strip() else None
            if default_text.strip():
                param["default"] = default
            param["type"] = json_type(kind) or _guess_type(pname, default)
            params.append(param)
        tools.append(make_tool(name, description, params))
    return tools


# ---- API listings ----

_LISTING_LINE = re.compile(
    r"^\s*(?:[-*•]\s*|\d+[.)]\s*)?(?:def\s+|function\s+|async\s+)?`?(?P<name>[A-Za-z_][\w.]*)`?\s*"
    r"\((?P<params>.*)\)\s*(?:->\s*[\w\[\], |]+?\s*)?`?\s*(?:(?:[-–—:]+|\s)\s*(?P<description>.*))?$"
)
_LISTING_PARAM = re.compile(
    r"^(?P<name>[A-Za-z_]\w*)(?P<optional>\?)?\s*(?::\s*(?P<type>[^=]+?))?\s*(?:\(\s*(?P<paren>[^)]*)\))?\s*"
    r"(?:=\s*(?P<default>.+))?$"
)


def _listing_tools(text: str) -> list[dict]:
    tools = []
    for line in text.splitlines():
        match = _LISTING_LINE.match(line.strip())
        if not match:
            continue
        tool = _listing_tool(match.group("name"), match.group("params"), match.group("description") or "")
        if tool is not None:
            tools.append(tool)
    return tools


def _listing_tool(name: str, raw_params: str, description: str) -> dict | None:
    name = name.replace(".", "_")
    if not NAME.match(name) or name in ("if", "for", "while", "print", "return"):
        return None
    params = []
    for part in _split_params(raw_params):
        match = _LISTING_PARAM.match(part.strip())
        if not match or match.group("name") in ("self", "cls"):
            continue
        param: dict[str, Any] = {"name": match.group("name")}
        kind_text = match.group("type") or ""
        paren = (match.group("paren") or "").lower()
        if paren and not kind_text:
            kind_text = paren.split(",")[0]
        default_text = match.group("default")
        default = _literal(default_text.strip()) if default_text else None
        if default_text:
            param["default"] = default
        elif match.group("optional") or "optional" in paren or "optional" in kind_text.lower():
            param["required"] = False
        kind_text = kind_text.replace("optional", "").strip(" ,")
        param["type"] = json_type(kind_text) or _guess_type(param["name"], default)
        item = re.search(r"[\[<]\s*(\w+)", kind_text)
        if param["type"] == "array" and item:
            param["items"] = json_type(item.group(1)) or "string"
        params.append(param)
    return make_tool(name, description.strip(" -–—:"), params)


def _split_params(text: str) -> list[str]:
    """Split a parameter list on commas outside brackets and quotes."""
    parts, depth, quote, current = [], 0, "", []
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"`":
            quote = char
        elif char in "([{<":
            depth += 1
        elif char in ")]}>":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return [part.strip() for part in parts if part.strip()]


def _literal(text: str) -> Any:
    """A default written in Python, JSON or JavaScript ("0.5", "'flour'", "true", "None"); other text stays text."""
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null", "undefined"):
        return None
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text.strip("'\"`")


# --------------------------------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------------------------------


def signature_line(tool: dict) -> str:
    """`name(param: type, param2: type = default) - description`: how a function is shown to a model."""
    function = tool["function"]
    parameters = function.get("parameters") or {}
    required = set(parameters.get("required") or ())
    parts = []
    for name, schema in (parameters.get("properties") or {}).items():
        kind = schema.get("type", "string")
        if kind == "array":
            kind = f"array[{(schema.get('items') or {}).get('type', 'string')}]"
        text = f"{name}: {kind}"
        if "default" in schema:
            text += f" = {json.dumps(schema['default'], ensure_ascii=False)}"
        elif name not in required:
            text += " = null"
        parts.append(text)
    description = function.get("description") or ""
    return f"{function['name']}({', '.join(parts)})" + (f" - {description}" if description else "")


def listing(tools: Iterable[dict]) -> str:
    return "\n".join(signature_line(tool) for tool in tools)


def parameter_line(name: str, schema: dict, required: bool) -> str:
    """`weight_kg (number, required): The weight of the joint.`"""
    kind = schema.get("type", "string")
    extra = f", one of {', '.join(map(str, schema['enum']))}" if schema.get("enum") else ""
    default = f", default {json.dumps(schema['default'])}" if "default" in schema else ""
    status = "required" if required else "optional"
    return f"{name} ({kind}, {status}{default}{extra}): {schema.get('description') or humanize(name)}"


def call_text(name: str, arguments: dict) -> str:
    """`scale_amount(amount=300, servings=4)`."""
    args = ", ".join(f"{key}={json.dumps(value, ensure_ascii=False)}" for key, value in arguments.items())
    return f"{name}({args})"


# --------------------------------------------------------------------------------------------------------------------
# Values: coercion and grounding
# --------------------------------------------------------------------------------------------------------------------

MISSING = "missing"
_MISSING_WORDS = re.compile(
    r"^\W*(?:missing|none|unknown|n/?a|null|not (?:given|stated|specified|provided|mentioned)|no value|\?+|"
    r"ask(?: the user)?|unspecified|not in the request)\b",
    re.IGNORECASE,
)
_NUMBER_TEXT = re.compile(r"[-−]?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?|[-−]?\.\d+", re.IGNORECASE)


class Missing(Exception):
    """A value that is not there (the model said so, or wrote nothing usable)."""


def coerce(text: str, schema: dict) -> Any:
    """A model's value text as the JSON value a parameter's schema wants.

    Raises:
        Missing: The text says the value is missing, or cannot be read as the parameter's type.
    """
    value = (text or "").strip().splitlines()[0].strip() if (text or "").strip() else ""
    value = re.sub(r"^(?:value|answer|\w+)\s*[:=]\s*(?=\S)", "", value) if re.match(r"^\w+\s*[:=]", value) else value
    value = value.strip().strip("`").strip()
    if not value or _MISSING_WORDS.match(value):
        raise Missing(value)
    kind = schema.get("type", "string")
    if kind in ("integer", "number"):
        number = read_number(value)
        if number is None:
            raise Missing(value)
        if kind == "integer":
            if abs(number - round(number)) > 1e-9:
                raise Missing(value)
            return int(round(number))
        return int(number) if number == int(number) and abs(number) < 1e15 and "." not in value else number
    if kind == "boolean":
        lowered = value.lower().strip(".! ")
        if lowered in ("true", "yes", "on", "1", "y"):
            return True
        if lowered in ("false", "no", "off", "0", "n"):
            return False
        raise Missing(value)
    if kind == "array":
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = [part for part in re.split(r"\s*(?:,|;|\band\b)\s*", value.strip("[]() .")) if part]
        if not isinstance(parsed, list) or not parsed:
            raise Missing(value)
        item_schema = schema.get("items") or {"type": "string"}
        return [coerce(str(item), item_schema) for item in parsed]
    if kind == "object":
        try:
            parsed = json.loads(value)
        except ValueError as exc:
            raise Missing(value) from exc
        if not isinstance(parsed, dict):
            raise Missing(value)
        return parsed
    string = value.strip()
    for _ in range(2):  # "'Oslo'." and "'Oslo.'"
        if len(string) > 1 and string.endswith(".") and not string[:-1].endswith("."):
            string = string[:-1]
        string = string.strip().strip("\"'“”‘’").strip()
    if not string:
        raise Missing(value)
    if schema.get("enum"):
        for option in schema["enum"]:
            if str(option).lower() == string.lower():
                return option
        raise Missing(value)
    return string


def read_number(text: str) -> float | None:
    """The number a short value text states ("25", "2.5 kg", "$1,200", "three hundred")."""
    match = _NUMBER_TEXT.search(text)
    if match:
        try:
            return float(match.group(0).replace(",", "").replace("−", "-"))
        except ValueError:
            return None
    values = word_numbers(text)
    return values[0] if values else None


_UNITS = CARDINAL_WORDS
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000, "billion": 1_000_000_000}


def word_numbers(text: str) -> list[float]:
    """Numbers written in words: "three hundred" -> 300, "twenty-five" -> 25, "a dozen" -> 12, "two dozen" -> 24."""
    found: list[float] = []
    total = current = 0.0
    started = counted = False  # inside a number; a number word (not just "a") has been read

    def close() -> None:
        nonlocal total, current, started, counted
        if started and counted:
            found.append(total + current)
        total = current = 0.0
        started = counted = False

    for token in re.findall(r"[a-z]+", text.lower()):
        if token in ("a", "an"):
            close()
            started, current = True, 1.0
        elif token == "dozen":
            current = (current or 1.0) * 12 if started else 12.0
            started = counted = True
        elif token in _UNITS:
            if started and not counted:
                current = 0.0  # "a" was an article, not "one"
            current += _UNITS[token]
            started = counted = True
        elif token in _SCALES and started:
            current = (current or 1.0) * _SCALES[token]
            counted = True
            if _SCALES[token] >= 1000:
                total, current = total + current, 0.0
        elif token == "and" and started and counted and (total or current >= 100):
            continue  # "two hundred and five"
        else:
            close()
    close()
    return found


def stated_numbers(text: str) -> set[float]:
    """Every number a text states: digits (with signs, commas, percent as a share too) and words."""
    found: set[float] = set()
    for match in _NUMBER_TEXT.finditer(text):
        raw = match.group(0).replace(",", "").replace("−", "-")
        try:
            value = float(raw)
        except ValueError:
            continue
        found |= {value, abs(value)}
        if text[match.end() : match.end() + 1] == "%":
            found.add(value / 100)
    found |= set(word_numbers(text))
    return found


def _same_number(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


_VALUE_WORD = re.compile(r"[A-Za-z0-9]+")


def grounded(value: Any, schema: dict, evidence: str) -> bool:
    """Whether a call's argument is stated in `evidence` (the user's turns and earlier tool results): a number the
    text states, a string the text contains (or all of whose words it contains), every item of a list. Booleans,
    objects and a parameter's own default need no evidence."""
    if "default" in schema and value == schema["default"]:
        return True
    if isinstance(value, bool | dict) or value is None:
        return True
    if isinstance(value, list):
        item = schema.get("items") or {}
        return all(grounded(v, item, evidence) for v in value)
    if isinstance(value, int | float):
        return any(_same_number(float(value), known) for known in stated_numbers(evidence))
    text = str(value).strip().lower()
    said = evidence.lower()
    if not text:
        return False
    if text in said:
        return True
    value_words = [w for w in _VALUE_WORD.findall(text)]
    said_words = set(_VALUE_WORD.findall(said))
    return bool(value_words) and all(w in said_words or _plural_of(w, said_words) for w in value_words)


def _plural_of(word: str, known: set[str]) -> bool:
    return word.rstrip("s") in known or f"{word}s" in known or f"{word}es" in known
