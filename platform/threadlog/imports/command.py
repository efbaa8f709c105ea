"""`threadlog import-comments FILE`: the import from the command line, with a progress bar and a summary."""
from __future__ import annotations

import argparse
import gc
import json
import os
import sys

HELP = "import comments from a WordPress (WXR, wpDiscuz), Disqus or Isso export (docs/import.md)"


def add_parser(sub) -> None:
    p = sub.add_parser("import-comments", help=HELP, description=HELP + ". All or nothing: a file that cannot be "
                       "imported appends nothing (exit status 1). Importing the same file again adds nothing.")
    p.add_argument("file", help="the export file")
    p.add_argument("--format", choices=["auto", "wordpress", "disqus", "isso"], default="auto",
                   help="the file's format (default: detected from its content)")
    p.add_argument("--site-url", default="", metavar="URL",
                   help="the site's address: makes Isso's paths full URLs, and replaces the scheme and host of "
                        "WordPress and Disqus links (a site that moved; the thread keys stay the same)")
    p.add_argument("--dry-run", action="store_true", help="report what would be imported; append nothing")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    from .model import ImportFileError
    from .writer import import_path

    try:
        size = os.path.getsize(args.file)
    except OSError as exc:
        print(f"import-comments: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 1
    bar = Progress(TextColumn("importing"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
                   console=Console(stderr=True), transient=True,  # stdout stays the summary's (--json)
                   disable=not sys.stderr.isatty() and os.environ.get("PROGRESS") != "1")
    task = bar.add_task("import", total=size or 1)
    # The objects of start-up (Django, the apps, the modules) are never garbage: out of the collector's way,
    # each full collection during the import no longer walks them again (the command's process ends after it).
    gc.freeze()
    try:
        with bar:
            tally = import_path(args.file, fmt=args.format, site_url=args.site_url, dry_run=args.dry_run,
                                progress=lambda n: bar.update(task, completed=n))
    except ImportFileError as exc:
        print(f"import-comments: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"import-comments: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(tally.as_json(), ensure_ascii=False))
    else:
        print("\n".join(tally.lines()))
    return 0
