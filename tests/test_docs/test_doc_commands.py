"""Every command line README.md and docs/*.md show is accepted by the real parser of the program it names.

The lines come from the documents themselves (doc_commands.py); each is parsed, not run, by its
program's own parser (parsers.py): bluegreen's and payment-api's argparse, each ``python -m``
module's, what a ``scripts/`` file hands ``"$@"`` to, and Sceptre's click commands plus the
config paths. A command a document shows *because* it is refused is listed in REFUSED_ON_PURPOSE
with the words the document says it with, and must stay refused.
"""

from __future__ import annotations

import pytest

from tests.test_docs import doc_commands, parsers

COMMANDS = [c for path in doc_commands.documents() for c in doc_commands.commands(path)]
#: (file, command as written) -> the words around it that say it does not work.
REFUSED_ON_PURPOSE = {
    ("README.md", "sceptre update prod/route53 --var green_weight=50"): "does not work",
    ("docs/failure-paths.md", "sceptre launch staging"): "unknown",
}
REFUSED = {(c.file, c.text) for c in COMMANDS} & set(REFUSED_ON_PURPOSE)


@pytest.mark.parametrize("command", [c for c in COMMANDS if (c.file, c.text) not in REFUSED_ON_PURPOSE],
                         ids=lambda c: f"{c.where} {c.text}")
def test_doc_command__the_real_parser__accepts_it(command):
    try:
        parsers.check(command)
    except parsers.Refused as err:
        pytest.fail(f"{command.where}: `{command.text}` is refused: {err}")


@pytest.mark.parametrize("key", sorted(REFUSED_ON_PURPOSE), ids=lambda k: f"{k[0]} {k[1]}")
def test_doc_command__shown_as_refused__is_refused_and_the_document_says_so(key):
    file, text = key
    command = next(c for c in COMMANDS if (c.file, c.text) == key)
    line = (doc_commands.ROOT / file).read_text().splitlines()[command.line - 1]

    with pytest.raises(parsers.Refused):
        parsers.check(command)
    assert REFUSED_ON_PURPOSE[key] in line


def test_documents__every_program_of_ours__found():
    """The extraction finds each program where the documents use it (a broken reader would pass everything)."""
    programs = {c.argv[0] if c.argv[0] != "python -m" else f"python -m {c.argv[1]}" for c in COMMANDS}

    assert {"bluegreen", "sceptre", "payment-api", "scripts/demo", "scripts/emulator", "scripts/rehearse",
            "scripts/test", "python -m bluegreen.render"} <= programs
    assert len(COMMANDS) > 150


@pytest.mark.parametrize("text,why", [
    ("sceptre create-change-set dev/route53 x", "No such command 'create-change-set'"),
    ("sceptre update dev/route53 --var green_weight=50", "No such option '--var'"),
    ("sceptre launch dev/nowhere", "'dev/nowhere' is no stack group or stack config"),
    ("bluegreen shift start --env dev --deploy --review-only", "unrecognized arguments: --deploy --review-only"),
    ("bluegreen shift jump --env dev", "invalid choice: 'jump'"),
    ("payment-api migrate --create-user", "unrecognized arguments: --create-user"),
    ("python -m bluegreen.render --chek", "unrecognized arguments: --chek"),
    ("scripts/bootstrap --fast", "scripts/bootstrap takes no arguments"),
    ("scripts/rehearse --scenario crash --rates 60", "unrecognized arguments: --rates"),
    ("scripts/test --no-such-pytest-flag", "unrecognized arguments: --no-such-pytest-flag"),
])
def test_check__stale_commands__refused_by_their_parser(tmp_path, text, why):
    (tmp_path / "stale.md").write_text(f"```\n{text}\n```\n")
    command, = doc_commands.commands(tmp_path / "stale.md", root=tmp_path)

    with pytest.raises(parsers.Refused, match=why):
        parsers.check(command)
