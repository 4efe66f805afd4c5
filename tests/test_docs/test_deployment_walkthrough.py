"""docs/deployment.md walked as written: its run blocks, in order, from an empty emulator (walkthrough.py).

The emulator starts empty, with the stand-in databases the schema stack migrates (what
``python -m bluegreen.emulator_databases --env dev -- scripts/emulator start`` gives a reader); each
run block is then given to bash as written, from the repository folder, with the emulator's
deployer in the environment (``eval "$(scripts/emulator env)"``) and the venv's programs on PATH
(``source .venv/bin/activate``). A block that fails stops the walk naming the block and its output.
Each skipped block's reason is printed in the test's report (``record_property``). The walk ends
with the teardown block; after it no stack is left.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bluegreen.emulator_databases import StandIns, cluster_identifiers
from tests.emulator_process import aws_env, free_port, run_launcher, session, start_with_databases
from tests.test_docs import walkthrough

VENV_BIN = os.path.dirname(sys.executable)


def test_deployment_doc__every_block__marked_run_or_skip_with_why():
    found = walkthrough.blocks()

    assert [b for b in found if b.run], "no block of docs/deployment.md is walked"
    assert all(b.why for b in found if not b.run)
    texts = "\n".join(b.text for b in found if b.run)
    for step in ("sceptre launch -y dev/security/security.yaml", "sceptre launch -y dev\n", "sceptre delete -y dev"):
        assert step in texts + "\n", f"the walkthrough no longer runs {step.strip()!r}"


def test_blocks__unmarked_or_placeholder_in_a_run_block__refused(tmp_path):
    unmarked = tmp_path / "a.md"
    unmarked.write_text("text\n\n```bash\nsceptre launch -y dev\n```\n")
    placeholder = tmp_path / "b.md"
    placeholder.write_text("<!-- walkthrough: run -->\n```bash\ncurl https://pay.<domain>/health\n```\n")
    no_reason = tmp_path / "c.md"
    no_reason.write_text("<!-- walkthrough: skip: -->\n```bash\ndig x\n```\n")

    for path, said in ((unmarked, "without"), (placeholder, "placeholder <domain>"), (no_reason, "must say why")):
        with pytest.raises(walkthrough.WalkthroughError, match=said):
            walkthrough.blocks(path)


@pytest.mark.emulator
def test_deployment_doc__run_blocks_in_order_from_an_empty_emulator__each_succeeds_and_nothing_is_left(record_property):
    port = free_port()
    with StandIns(cluster_identifiers("dev")) as databases:
        started = start_with_databases(port, databases)
        assert started.returncode == 0, started.stderr
        try:
            cloudformation = session(port).client("cloudformation", endpoint_url=aws_env(port)["AWS_ENDPOINT_URL"])
            assert cloudformation.list_stacks(StackStatusFilter=["CREATE_COMPLETE"])["StackSummaries"] == [], "not empty"
            env = {k: v for k, v in os.environ.items() if k not in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "VIRTUAL_ENV")}
            env.update(aws_env(port), EMULATOR_PORT=str(port), PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}")
            skipped = []
            for block in walkthrough.blocks():
                if not block.run:
                    skipped.append(f"{block.where}: {block.why}")
                    continue
                ran = subprocess.run(["bash", "-eo", "pipefail"], input=block.text, env=env, cwd=walkthrough.ROOT,
                                     capture_output=True, text=True, timeout=900)
                assert ran.returncode == 0, f"{block.where} failed (exit {ran.returncode}):\n{block.text}\n" \
                                            f"{(ran.stdout + ran.stderr)[-4000:]}"
            record_property("skipped", "\n".join(skipped))
            alive = [s["StackName"] for s in cloudformation.list_stacks()["StackSummaries"] if s["StackStatus"] != "DELETE_COMPLETE"]
            assert alive == [], f"left after the teardown block: {alive}"
        finally:
            run_launcher("stop", port=port, timeout=60)
