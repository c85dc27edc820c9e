"""What Moodle's importer reads, rewritten as checks: a structural validator and a Cloze parser.

Written from Moodle's question/format/xml/format.php (import_headers, import_multianswer,
import_numerical, import_essay, import_category, import_text_with_files, import_question_tags)
and question/type/multianswer/questiontype.php (qtype_multianswer_extract_question and
qtype_multianswer_validate_question, whose regular expressions are ported below), so the tests
judge our XML by Moodle's rules rather than by our own code.
"""

from __future__ import annotations

import base64
import html
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

FORMATS = {"moodle_auto_format", "html", "plain_text", "wiki_like", "markdown"}  # trans_format
RESPONSE_FORMATS = {"editor", "editorfilepicker", "plain", "monospaced", "noinline"}
# The child elements each type's import function reads (and `hidden`, which the exporter writes).
HEADERS = {"name", "questiontext", "generalfeedback", "defaultgrade", "penalty", "hidden", "idnumber", "tags",
           "coursetags", "image", "image_base64"}
READS = {
    "category": {"category", "info", "idnumber"},
    "cloze": {"name", "questiontext", "generalfeedback", "penalty", "hidden", "idnumber", "tags", "coursetags",
              "hint", "image", "image_base64"},
    "numerical": HEADERS | {"answer", "units", "unitgradingtype", "unitpenalty", "showunits", "unitsleft",
                            "instructions", "hint"},
    "essay": HEADERS | {"responseformat", "responsefieldlines", "responserequired", "attachments",
                        "attachmentsrequired", "graderinfo", "responsetemplate"},
}
INTEGER_FIELDS = {"responsefieldlines", "responserequired", "attachments", "attachmentsrequired", "hidden",
                  "unitgradingtype", "showunits", "unitsleft"}

# qtype_multianswer's regular expressions (questiontype.php), in Python's syntax.
NUMBER = r"-?(([0-9]+[.,]?[0-9]*|[.,][0-9]+)([eE][-+]?[0-9]+)?)"
NUMERICAL_ALTERNATIVE = re.compile(rf"^({NUMBER})(:{NUMBER})?$", re.S)
FRACTION = r"=|%(-?[0-9]+(?:[.,][0-9]*)?)%"
ANSWER = r".+?(?<!\\)(?<!&)(?<!&amp;)(?=[~#}]|$)"
FEEDBACK = r".*?(?<!\\)(?=[~}]|$)"
ALTERNATIVE = rf"({FRACTION})?({ANSWER})(#({FEEDBACK}))?"
TYPES = (r"(NUMERICAL|NM)|(MULTICHOICE|MC)|(MULTICHOICE_V|MCV)|(MULTICHOICE_H|MCH)|(SHORTANSWER|SA|MW)|"
         r"(SHORTANSWER_C|SAC|MWC)|(MULTICHOICE_S|MCS)|(MULTICHOICE_VS|MCVS)|(MULTICHOICE_HS|MCHS)|"
         r"(MULTIRESPONSE|MR)|(MULTIRESPONSE_H|MRH)|(MULTIRESPONSE_S|MRS)|(MULTIRESPONSE_HS|MRHS)")
MARKER = re.compile(rf"\{{([0-9]*):({TYPES}):(({ALTERNATIVE})(~{ALTERNATIVE})*)\}}", re.S)
ALTERNATIVES_GROUP = 16


@dataclass(frozen=True)
class Alternative:
    fraction: float
    answer: str
    tolerance: str | None  # NUMERICAL only
    feedback: str  # as Moodle stores it (entities decoded, \} and \# unescaped)


@dataclass(frozen=True)
class SubQuestion:
    weight: int
    kind: str  # "numerical" or another Cloze type
    alternatives: tuple[Alternative, ...]


def cloze(text: str) -> tuple[str, list[SubQuestion]]:
    """Moodle's extraction: the text with {#1}, {#2}, … in place of the markers, and the sub-questions."""
    subs = []
    while (found := MARKER.search(text)) is not None:
        weight = int(found[1]) if found[1] else 1
        kind = "numerical" if found[3] else "other"
        remaining, alternatives = found[ALTERNATIVES_GROUP], []
        while (alt := re.match(rf"~?{ALTERNATIVE}", remaining, re.S)) is not None and alt[0]:
            fraction = 1.0 if alt[1] == "=" else (float(alt[2].replace(",", ".")) / 100 if alt[2] else 0.0)
            feedback = html.unescape(alt[5] or "").replace("\\}", "}").replace("\\#", "#")
            answer, tolerance = alt[3], None
            if kind == "numerical" and (number := NUMERICAL_ALTERNATIVE.match(alt[3])):
                answer, tolerance = number[1], number[6] if number[5] else "0"
            alternatives.append(Alternative(fraction, answer, tolerance, feedback))
            remaining = remaining.split(alt[0], 1)[1]
        subs.append(SubQuestion(weight, kind, tuple(alternatives)))
        text = text.replace(found[0], f"{{#{len(subs)}}}", 1)
    return text, subs


def validate(xml_text: str) -> list[str]:
    """Every way the file departs from what Moodle's XML importer reads (an empty list: none)."""
    problems: list[str] = []
    root = ET.fromstring(xml_text.encode("utf-8"))
    if root.tag != "quiz":
        return [f"the root is <{root.tag}>, not <quiz>"]
    for n, question in enumerate(root, 1):
        where = f"question {n}"
        kind = question.get("type")
        if question.tag != "question" or kind not in READS:
            problems.append(f"{where}: <{question.tag} type={kind!r}> is not a question type we write")
            continue
        for child in question:
            if child.tag not in READS[kind]:
                problems.append(f"{where} ({kind}): <{child.tag}> is not read by the importer")
        problems.extend(f"{where} ({kind}): {p}" for p in _question(question, kind))
    return problems


def _question(q: ET.Element, kind: str) -> list[str]:
    if kind == "category":
        return [] if (q.findtext("category/text") or "").strip() else ["no <category><text>"]
    problems = []
    if not (q.findtext("name/text") or "").strip():
        problems.append("no <name><text> (xmlimportnoname)")
    for field in ("questiontext", "generalfeedback", "graderinfo", "responsetemplate"):
        element = q.find(field)
        if element is not None:
            problems.extend(_text_with_files(element, field))
    if q.find("questiontext") is None:
        problems.append("no <questiontext>")
    for field in INTEGER_FIELDS:
        value = q.findtext(field)
        if value is not None and not re.fullmatch(r"-?\d+", value):
            problems.append(f"<{field}> {value!r} is not an integer")
    for field in ("defaultgrade", "penalty"):
        value = q.findtext(field)
        if value is not None and not re.fullmatch(r"-?\d+(\.\d+)?", value):
            problems.append(f"<{field}> {value!r} is not a number")
    for tag in q.findall("tags/tag"):
        if not (tag.findtext("text") or "").strip():
            problems.append("a <tag> without <text>")
    if kind == "cloze":
        _, subs = cloze(q.findtext("questiontext/text") or "")
        problems.extend(_multianswer(subs))
    if kind == "numerical":
        answers = q.findall("answer")
        if not answers:
            problems.append("no <answer>")
        for answer in answers:
            if not _is_number(answer.findtext("text") or "") or not _is_number(answer.findtext("tolerance") or "0"):
                problems.append(f"answer {answer.findtext('text')!r} or its tolerance is not a number")
            if not re.fullmatch(r"-?\d+(\.\d+)?", answer.get("fraction", "0")):
                problems.append("an <answer> fraction is not a number")
    if kind == "essay" and q.findtext("responseformat") not in RESPONSE_FORMATS:
        problems.append(f"<responseformat> {q.findtext('responseformat')!r} is not one of {sorted(RESPONSE_FORMATS)}")
    return problems


def _text_with_files(element: ET.Element, field: str) -> list[str]:
    """import_text_with_files: a format attribute Moodle knows, a <text>, files with name and base64."""
    problems = []
    if element.get("format", "html") not in FORMATS:
        problems.append(f"<{field}> format {element.get('format')!r} is unknown")
    if element.find("text") is None:
        problems.append(f"<{field}> has no <text>")
    names = set()
    for file in element.findall("file"):
        if not file.get("name") or file.get("encoding") != "base64":
            problems.append(f"<{field}><file> needs a name and encoding='base64'")
        try:
            base64.b64decode(file.text or "", validate=True)
        except ValueError:
            problems.append(f"<{field}><file name={file.get('name')!r}> is not base64")
        names.add(file.get("path", "/") + (file.get("name") or ""))
    for used in re.findall(r"@@PLUGINFILE@@(/[^\"'\s>]+)", element.findtext("text") or ""):
        if used not in names:
            problems.append(f"<{field}> uses @@PLUGINFILE@@{used} but holds no such <file>")
    return problems


def _multianswer(subs: list[SubQuestion]) -> list[str]:
    """qtype_multianswer_validate_question: sub-questions, each with an answer and a full-mark one."""
    if not subs:
        return ["the Cloze text has no sub-question (questionsmissing)"]
    problems = []
    for n, sub in enumerate(subs, 1):
        if not any(a.answer.strip() for a in sub.alternatives):
            problems.append(f"sub-question {n}: no answer")
        if sub.kind == "numerical" and not all(_is_number(a.answer.strip()) for a in sub.alternatives):
            problems.append(f"sub-question {n}: an answer is not a number")
        if not any(a.fraction == 1 for a in sub.alternatives):
            problems.append(f"sub-question {n}: no answer earns the full mark (fractionsnomax)")
    return problems


def _is_number(text: str) -> bool:
    return re.fullmatch(NUMBER, text.strip()) is not None
