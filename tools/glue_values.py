"""Write every glued value of a built book to JSON, or compare two such files.

    python tools/glue_values.py dump _build glue-before.json
    python tools/glue_values.py compare glue-before.json glue-after.json

myst-nb stores each ``glue(name, value)`` as a cell output whose metadata names it
(``scrapbook.name``) in the executed notebooks of the build's execution cache
(``_build/.jupyter_cache/executed/*/base.ipynb``, which holds code cells only); a page is
named by the prefix most of its glue names share (``prog_`` for the progress chapter).
Text values (plain, Markdown, HTML) are kept as they are; images and other binary
values by their sha256, so that a figure's bytes can be compared too.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections import Counter
from pathlib import Path

TEXT = ("text/markdown", "text/html", "text/latex", "text/plain")
RECORD = "application/papermill.record/"


def glue_values(build: Path) -> dict[str, dict[str, str]]:
    values: dict[str, dict[str, str]] = {}
    for nb_path in sorted((build / ".jupyter_cache" / "executed").glob("*/base.ipynb")):
        nb = json.loads(nb_path.read_text())
        page_values: dict[str, str] = {}
        for cell in nb.get("cells", []):
            for out in cell.get("outputs", []):
                name = out.get("metadata", {}).get("scrapbook", {}).get("name")
                if not name:
                    continue
                # glue stores its mime bundle under "application/papermill.record/<type>"
                data = {k.removeprefix(RECORD): v for k, v in out.get("data", {}).items()}
                kind = next((k for k in TEXT if k in data), None)
                if kind is not None:
                    text = data[kind]
                    value = "".join(text) if isinstance(text, list) else text
                else:
                    kind = next(iter(data), "none")
                    blob = data.get(kind, "")
                    blob = "".join(blob) if isinstance(blob, list) else blob
                    value = "sha256:" + hashlib.sha256(str(blob).encode()).hexdigest()
                page_values[name] = f"{kind}: {value}"
        if page_values:
            prefixes = Counter(name.split("_")[0] for name in page_values)
            values[prefixes.most_common(1)[0][0]] = page_values
    return values


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "dump":
        values = glue_values(Path(argv[1]))
        Path(argv[2]).write_text(json.dumps(values, indent=1, sort_keys=True) + "\n")
        print(f"{sum(len(v) for v in values.values())} glued values from {len(values)} pages -> {argv[2]}")
        return 0
    if len(argv) == 3 and argv[0] == "compare":
        before, after = (json.loads(Path(a).read_text()) for a in argv[1:])
        flat_b = {(p, n): v for p, vs in before.items() for n, v in vs.items()}
        flat_a = {(p, n): v for p, vs in after.items() for n, v in vs.items()}
        keys = sorted(set(flat_b) | set(flat_a))
        changed = [k for k in keys if flat_b.get(k) != flat_a.get(k)]
        text_changed = [k for k in changed if not str(flat_b.get(k, "")).startswith("image/")]
        for page, name in changed:
            print(f"{page}:{name}\n  before: {str(flat_b.get((page, name)))[:300]!r}\n"
                  f"  after:  {str(flat_a.get((page, name)))[:300]!r}")
        print(f"compared {len(keys)} glued values: {len(changed)} differ "
              f"({len(text_changed)} of them text, {len(changed) - len(text_changed)} images)")
        return 1 if text_changed else 0
    print(__doc__.strip().splitlines()[2], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
