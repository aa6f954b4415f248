"""``imgpub``: every action is a stage of this command, with the action's inputs as flags.

``imgpub <stage> --<input> VALUE ...`` runs exactly what ``uses: .../actions/<stage>`` runs;
``imgpub sandbox`` starts the local rehearsal cloud; ``imgpub demo`` rehearses a whole
release in it; ``imgpub notify`` posts a release's digest to a chat webhook.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Sequence
from types import FrameType
from typing import cast

from imgpub import __version__
from imgpub.cancel import Cancellation
from imgpub.errors import EXIT_BAD_INPUT, EXIT_FAILURE, ImgpubError
from imgpub.flow import StageModule
from imgpub.gha import Gha
from imgpub.inputs import COMMON_INPUTS, COMMON_OUTPUTS, InputSpec, with_common_inputs
from imgpub.stage import run_stage
from imgpub.stages import MissingExtra, StageInfo, load_stage, present_stages


def available_stages() -> dict[str, StageModule]:
    """Every stage present in this installation, imported (needs all their extras).

    The CLI itself imports only the stage it runs (see :func:`main`); this is for tools
    that need them all, such as the action generator and the contract tests.
    """
    return {name: cast(StageModule, load_stage(info)) for name, info in present_stages().items()}


def _add_input_flag(parser: argparse.ArgumentParser, spec: InputSpec) -> None:
    help_text = spec.description
    if spec.default not in (None, ""):
        help_text += f" (default: {spec.default})"
    if spec.required:
        help_text += " (required)"
    metavar = {
        "bool": "true|false",
        "list": "A,B",
        "lines": "LINES",
        "int": "N",
        "secret": "SECRET",
        "path": "PATH",
        "output": "PATH",
    }.get(spec.kind, "VALUE")
    kwargs: dict[str, object] = {"dest": _dest(spec.name), "metavar": metavar, "help": help_text}
    if spec.kind == "bool":
        kwargs["nargs"] = "?"
        kwargs["const"] = "true"  # `--make-public` alone means true
    parser.add_argument(spec.flag, **kwargs)  # type: ignore[arg-type]


def _dest(name: str) -> str:
    return "in_" + name.replace("-", "_")


def build_parser(
    stages: dict[str, StageModule], infos: dict[str, StageInfo] | None = None
) -> argparse.ArgumentParser:
    """The whole command line; only the stages in ``stages`` get their input flags.

    ``infos`` lists the stages to offer; those not imported appear in ``--help`` with the
    extra they need, and a call to one of them is answered by :func:`main` before parsing.
    """
    parser = argparse.ArgumentParser(
        prog="imgpub",
        description=textwrap.dedent(
            """\
            Publish cloud VM images and container artifacts: correct, idempotent, fast, safe.

            Each stage below is also a GitHub Action (ORG/imgpub/actions/<stage>); its flags
            are the action's inputs. Every stage discovers what exists, plans only what is
            missing, and applies it, so re-running after a failure finishes the job.

            Exit codes: 0 success, 1 failure, 2 bad input (nothing changed),
            3 partial success (see the results document).
            """
        ),
        epilog=textwrap.dedent(
            """\
            Try it locally, with no cloud account:
              imgpub demo                       rehearse a release in the local sandbox
              imgpub demo --again               … then again: every target existed
              imgpub sandbox run -- CMD ARGS    run CMD against the local clouds
              imgpub <stage> --help             every flag of a stage
            """
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"imgpub {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    offered = infos if infos is not None else {}
    for name in [*offered, *(n for n in stages if n not in offered)]:
        info = offered.get(name)
        module = stages.get(name)
        if module is None:
            assert info is not None
            sub.add_parser(name, help=f"{_first_sentence(info.help)} [{_needs(info)}]")
            continue
        sp = sub.add_parser(
            name,
            help=f"{_first_sentence(module.HELP)} [{_needs(info)}]" if info else module.HELP,
            description=module.HELP + (f"\n\nInstall: {info.install_hint}" if info else ""),
            epilog=_outputs_epilog(module),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        positional = getattr(module, "POSITIONAL", None)
        if positional:  # e.g. `imgpub push SOURCE...`: the input's lines, given as words
            sp.add_argument(
                "positional_values", nargs="*", metavar=positional.upper().rstrip("S"),
                help=f"Values of --{positional}, one per word (before or after the flags).",
            )  # fmt: skip
        stage_group = sp.add_argument_group(f"{name} inputs")
        common = sp.add_argument_group("common to every stage")
        common_names = {c.name for c in COMMON_INPUTS}
        for spec in with_common_inputs(module.INPUTS):
            group = common if spec.name in common_names else stage_group
            _add_input_flag(group, spec)  # type: ignore[arg-type]
        common.add_argument(
            "--config-file",
            metavar="PATH",
            help="YAML file of input values: {<stage>: {<input>: value}} (env IMGPUB_CONFIG).",
        )
        common.add_argument(
            "--debug", action="store_true", help="Show tracebacks and debug lines on errors."
        )
        sp.set_defaults(stage=name)

    sb = sub.add_parser(
        "sandbox",
        help="Start the local rehearsal cloud (moto, Azurite, docker-registry, fakes).",
        description="The local rehearsal cloud: real emulators where they exist, imgpub's "
        "fakes where they don't, on free 127.0.0.1 ports.",
    )
    sbsub = sb.add_subparsers(dest="sandbox_command", metavar="ACTION")
    run_p = sbsub.add_parser(
        "run",
        help="Start the services, run CMD pointed at them, stop everything.",
        description="Start the services, run CMD with AWS_ENDPOINT_URL, dummy credentials, "
        "the Azurite connection string and the registry address set, then stop all "
        "services — also when CMD fails. Exits with CMD's exit code.",
    )
    run_p.add_argument("--services", default="", metavar="A,B", help=_services_help())
    run_p.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- CMD ARGS...")
    serve_p = sbsub.add_parser(
        "serve",
        help="Start the services, print export lines, run until interrupted.",
        description="Start the services and print `export` lines for your shell; stop with Ctrl-C.",
    )
    serve_p.add_argument("--services", default="", metavar="A,B", help=_services_help())

    notify_p = sub.add_parser(
        "notify",
        help="Post a digest of a whole results document to an incoming webhook.",
        description="Post what every stage in the results document did (created, existed, "
        "failed, with IDs and the run's link) to a Mattermost or Slack incoming webhook: the "
        "last job of a release workflow. A failed post is a warning, never exit 1.",
    )
    from imgpub.notify.command import NOTIFY_COMMAND_INPUTS

    for spec in NOTIFY_COMMAND_INPUTS:
        _add_input_flag(notify_p, spec)

    demo_p = sub.add_parser(
        "demo",
        help="Rehearse a release in the local sandbox and print what each stage did.",
        description="Start the local sandbox, make a small disk image, and run every stage "
        "against it, printing what each did. Needs no cloud account.",
    )
    demo_p.add_argument("--keep", action="store_true", help="Keep the work folder.")
    demo_p.add_argument(
        "--again",
        action="store_true",
        help="Then run the same release again on the same sandbox: every target existed.",
    )

    from imgpub.registry import license_check

    lc_p = sub.add_parser(
        "license-check",
        help="Check out a Marketplace license (the Helm hook's check) [needs imgpub[aws]].",
        description=license_check.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    license_check.add_arguments(lc_p)
    return parser


def _first_sentence(text: str) -> str:
    return text.split(". ", 1)[0].rstrip(".") + "."


def _needs(info: StageInfo) -> str:
    return "needs imgpub[" + ",".join(info.extras) + "]"


def _services_help() -> str:
    from imgpub.sandbox import ALL_SERVICES

    return f"Services to start (default: all installed): {', '.join(ALL_SERVICES)}."


def _outputs_epilog(module: StageModule) -> str:
    lines = ["outputs (for the next job):"]
    for out in (*module.OUTPUTS, *COMMON_OUTPUTS):
        lines.append(f"  {out.name:<16} {out.description}")
    return "\n".join(lines)


# -- commands ------------------------------------------------------------------------------


def _run_stage_command(args: argparse.Namespace, module: StageModule) -> int:
    flags: dict[str, str | None] = {}
    for spec in with_common_inputs(module.INPUTS):
        flags[spec.name] = getattr(args, _dest(spec.name), None)
    positional = getattr(module, "POSITIONAL", None)
    words = getattr(args, "positional_values", None) or []
    if positional and words:
        given = flags.get(positional)
        flags[positional] = "\n".join([*words, given] if given else words)
    cancel = Cancellation()
    code = run_stage(
        module, flags=flags, debug=args.debug, config_file=args.config_file, cancel=cancel
    )
    if cancel.is_set:
        # Everything is written. A call still hung past the grace would keep its worker
        # thread, and Python joins those at exit: GitHub's kill comes ~2.5 s after SIGTERM.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _install_signal_exit() -> None:
    """Turn SIGTERM/SIGHUP into SystemExit so `finally` blocks stop the services."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGHUP, handler)


def _parse_services(text: str) -> list[str]:
    from imgpub.sandbox import ALL_SERVICES

    wanted = [s.strip() for s in text.split(",") if s.strip()] or list(ALL_SERVICES)
    unknown = [s for s in wanted if s not in ALL_SERVICES]
    if unknown:
        raise ImgpubError(
            f"--services: unknown service {', '.join(unknown)}",
            remedy=f"choose from {', '.join(ALL_SERVICES)}",
        )
    return wanted


def _sandbox_run(args: argparse.Namespace, gha: Gha) -> int:
    from imgpub.sandbox import Sandbox
    from imgpub.sandbox.services import die_with_parent

    cmd = list(args.cmd)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        gha.error("imgpub sandbox run: no command given — usage: imgpub sandbox run -- CMD ARGS")
        return EXIT_BAD_INPUT
    _install_signal_exit()
    with Sandbox(_parse_services(args.services)) as sandbox:
        for name, reason in sandbox.unavailable.items():
            gha.warning(f"sandbox service {name} is not available: {reason}")
        env = {**os.environ, **sandbox.env}
        try:
            # If imgpub itself is killed, CMD must not run on against stopped services.
            proc = subprocess.Popen(cmd, env=env, preexec_fn=die_with_parent)
        except OSError as exc:
            gha.error(f"imgpub sandbox run: cannot start {cmd[0]!r}: {exc.strerror}")
            return 127
        try:
            return proc.wait()
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()


def _sandbox_serve(args: argparse.Namespace, gha: Gha) -> int:
    from imgpub.sandbox import Sandbox

    _install_signal_exit()
    try:
        with Sandbox(_parse_services(args.services)) as sandbox:
            for name, where in sandbox.describe():
                gha.info(f"# {name}: {where}")
            for key, value in sandbox.env.items():
                print(f"export {key}={shlex.quote(value)}", flush=True)
            gha.info("# sandbox running; press Ctrl-C to stop")
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:  # Ctrl-C is how serve is meant to end
        return 0


def _requested_stage(argv: Sequence[str]) -> str | None:
    """The stage named on the command line, if any (the first word that is not a flag)."""
    for word in argv:
        if not word.startswith("-"):
            return word if word in present_stages() else None
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    gha = Gha()
    infos = present_stages()
    stages: dict[str, StageModule] = {}
    requested = _requested_stage(argv)
    if requested is not None:
        # Only this stage is imported: an action installs only the extras its stage needs.
        try:
            stages[requested] = cast(StageModule, load_stage(infos[requested]))
        except MissingExtra as exc:
            gha.error(str(exc))
            return EXIT_BAD_INPUT
    parser = build_parser(stages, infos)
    args = parser.parse_args(argv)
    try:
        if args.command is None:
            parser.print_help()
            return EXIT_BAD_INPUT
        if args.command in stages:
            return _run_stage_command(args, stages[args.command])
        if args.command == "sandbox":
            if args.sandbox_command == "run":
                return _sandbox_run(args, gha)
            if args.sandbox_command == "serve":
                return _sandbox_serve(args, gha)
            parser.parse_args(["sandbox", "--help"])
            return EXIT_BAD_INPUT
        if args.command == "notify":
            from imgpub.notify.command import NOTIFY_COMMAND_INPUTS, run_notify

            flags = {s.name: getattr(args, _dest(s.name), None) for s in NOTIFY_COMMAND_INPUTS}
            return run_notify(flags, os.environ, gha)
        if args.command == "demo":
            from imgpub.demo import run_demo

            return run_demo(gha, keep=args.keep, again=args.again)
        if args.command == "license-check":
            from imgpub.registry import license_check

            return license_check.run(args, gha)
    except ImgpubError as exc:
        gha.error(exc.one_line())
        return exc.exit_code
    except KeyboardInterrupt:
        gha.error("interrupted")
        return 130
    except Exception as exc:  # a bug: one line by default, the traceback on request
        if os.environ.get("IMGPUB_DEBUG"):
            raise
        gha.error(
            f"unexpected error: {type(exc).__name__}: {exc} — "
            "set IMGPUB_DEBUG=1 for a traceback and report it"
        )
        return EXIT_FAILURE
    return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
