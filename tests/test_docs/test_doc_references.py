"""Every test and file README.md and docs/*.md name in code spans exists: a renamed test or moved config fails here.

Checked spans (one word, no spaces): ``<file>.py::<test>`` and ``::<test>`` (``[param]`` ids and a
trailing ``*`` allowed), a bare ``test_<name>`` (a test function somewhere under tests/ or
app/tests/), a ``test_<name>.py`` file, a bare ``<module>.py`` (some file of the repository), and paths under the repository's folders that name a file
(an extension) or a folder (a trailing ``/``; any ``config/`` path). ``{a,b}`` expands; ``...`` and,
in a config path, ``<x>`` stand for any parts (elsewhere a ``<x>`` path is an S3 key or a name made at run time).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.test_docs.doc_commands import ROOT, documents

SPAN = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
FOLDERS = ("config/", "tests/", "templates/", "docs/", "bluegreen/", "hooks/", "resolvers/", "lambda_src/", "scripts/",
           "emulator/", "app/")
EXTENSIONS = (".py", ".json", ".yaml", ".yml", ".md", ".txt", ".toml", ".cfg", ".ini", ".dot", ".png")
TEST_TREES = [ROOT / "tests", ROOT / "app" / "tests"]


def _test_functions() -> dict[str, set[Path]]:
    found: dict[str, set[Path]] = {}
    for tree in TEST_TREES:
        for path in tree.rglob("*.py"):
            for name in re.findall(r"^\s*(?:async )?def (test_\w+)", path.read_text(), flags=re.M):
                found.setdefault(name, set()).add(path)
    return found


FUNCTIONS = _test_functions()
TEST_FILES = [path for tree in TEST_TREES for path in tree.rglob("test_*.py")]
#: The repository's own files by name (not the venvs', builds' or caches').
def _own_python_files() -> set[str]:
    names = set()
    for _, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if not d.startswith(".")]  # .venv*, .build, .git, caches
        names.update(name for name in files if name.endswith(".py"))
    return names


OWN_NAMES = _own_python_files()


def _expand(word: str) -> list[str]:
    braces = re.search(r"\{([^{}]*)\}", word)
    if braces is None:
        return [word]
    return [w for alt in braces[1].split(",") for w in _expand(word[:braces.start()] + alt + word[braces.end():])]


def _defined(name: str, files: set[Path] | None = None) -> bool:
    name = re.sub(r"\[.*\]$", "", name)
    wanted = (lambda n: n.startswith(name[:-1])) if name.endswith("*") else (lambda n: n == name)
    return any(wanted(n) and (files is None or paths & files) for n, paths in FUNCTIONS.items())


def problem(word: str) -> str | None:
    """Why ``word`` (a code span) names nothing, or None when it names something that exists or no test/file."""
    if "::" in word and not word.startswith(("AWS::", "Fn::", "Custom::")):
        file, name = word.split("::", 1)
        if not re.fullmatch(r"test_[\w*]+(\[.*\])?", name):
            return None
        files = None
        if file:
            files = {p for p in TEST_FILES if str(p.relative_to(ROOT)).endswith(file) or p.name == Path(file).name}
            if not files:
                return f"no test file {file}"
        return None if _defined(name, files) else f"no test {name} in {file or 'any test file'}"
    if re.fullmatch(r"test_\w+__\w+\*?(\[.*\])?", word):  # the project's test names: test_<unit>__<condition>__<result>
        return None if _defined(word) else f"no test function {word}"
    if re.fullmatch(r"test_\w+\.py", word):
        return None if any(p.name == word for p in TEST_FILES) else f"no test file {word}"
    if re.fullmatch(r"\w+\.py", word):  # a module named by its file alone: some file of ours has that name
        return None if word in OWN_NAMES else f"no file {word} in the repository"
    # A placeholder outside config/ is a key or a name made at run time (templates/<stack>/<sha256>.json in S3).
    if word.startswith(FOLDERS) and (word.endswith(("/", *EXTENSIONS)) or word.startswith("config/")) \
            and ("<" not in word or word.startswith("config/")):
        for path in _expand(word):
            pattern = re.sub(r"<[^<>]+>|\.\.\.", "*", path).rstrip("/").split("::")[0]
            if not (list(ROOT.glob(pattern)) if "*" in pattern else (ROOT / pattern).exists()):
                return f"no {path}"
    return None


REFERENCES = [(str(doc.relative_to(ROOT)), number, word)
              for doc in documents() for number, line in enumerate(doc.read_text().splitlines(), 1)
              for word in (span.strip() for span in SPAN.findall(line)) if " " not in word]


def test_documents__references__every_named_test_and_file_exists():
    missing = [f"{file}:{number}: `{word}`: {why}" for file, number, word in REFERENCES if (why := problem(word))]
    assert missing == [], "\n".join(missing)


@pytest.mark.parametrize("word,why", [
    ("test_dms.py::test_instance__publicly_accessible__false",
     "no test test_instance__publicly_accessible__false in test_dms.py"),
    ("test_nothing__at_all__here", "no test function test_nothing__at_all__here"),
    ("config/prod/database.yaml", "no config/prod/database.yaml"),
    ("config/prod/{database,dms}.yaml", "no config/prod/database.yaml"),
    ("bluegreen/exceptions.py", "no bluegreen/exceptions.py"),
    ("misc.py", "no file misc.py in the repository"),
])
def test_problem__stale_reference__named(word, why):
    assert problem(word) == why


@pytest.mark.parametrize("word", ["test_dms.py::test_cdc_alarm__*", "config/prod/database/{database,dms}.yaml",
                                  "config/<env>/route53/", "tests/test_docs/", "AWS::DMS::ReplicationSubnetGroup"])
def test_problem__existing_reference__none(word):
    assert problem(word) is None


def test_readme__stacks_table_and_count__every_stack_config_of_dev_once():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Stacks\n", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1].strip() for line in section.splitlines() if line.startswith("| ")][1:]
    stacks = sorted(p.stem for p in (ROOT / "config" / "dev").rglob("*.yaml") if p.name != "config.yaml")

    # The count is what `sceptre launch dev` creates: the data-centre leg's stacks are off in dev.
    from bluegreen import environments

    launched = environments.stacks(ROOT, "dev")
    assert sorted(rows) == stacks
    assert re.findall(r"all (\d+) stacks", readme) == [str(len(launched))]
