#!/usr/bin/env bash
# Builds the book in docs/ with mdBook (installed by scripts/setup.sh) into
# docs/book/, then fails on a broken internal link: a relative link to a page
# that does not exist, or to an anchor that the page does not have.
#
#   scripts/build-book.sh            # then open docs/book/index.html
set -euo pipefail
cd "$(dirname "$0")/.."
mdbook=.pytools-mdbook/bin/mdbook
[[ -x "$mdbook" ]] || { echo "build-book: $mdbook is missing; run ./scripts/setup.sh first" >&2; exit 1; }
rm -rf docs/book
"$mdbook" build docs 2>&1 | grep -v '^ INFO' >&2 || true
[[ -f docs/book/index.html ]] || { echo "build-book: mdbook did not build docs/book" >&2; exit 1; }
python3 - docs/book <<'PY'
import html.parser, pathlib, sys, urllib.parse

root = pathlib.Path(sys.argv[1]).resolve()

class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.ids = [], set()
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])

pages = {}
for path in root.rglob("*.html"):
    p = Page()
    p.feed(path.read_text(encoding="utf-8"))
    pages[path.resolve()] = p

broken = []
for path, page in pages.items():
    if path.name in ("print.html", "toc.html", "404.html"):
        continue
    for href in page.links:
        url = urllib.parse.urlsplit(href)
        if url.scheme or url.netloc or href.startswith("mailto:"):
            continue
        target = path if not url.path else (path.parent / urllib.parse.unquote(url.path)).resolve()
        if target.is_dir():
            target = target / "index.html"
        if not target.exists():
            broken.append(f"{path.relative_to(root)}: {href} (no such page)")
            continue
        frag = urllib.parse.unquote(url.fragment)
        if frag and target.suffix == ".html" and frag not in pages.get(target, Page()).ids:
            broken.append(f"{path.relative_to(root)}: {href} (no anchor #{frag})")
if broken:
    print("build-book: broken internal links:\n  " + "\n  ".join(sorted(set(broken))), file=sys.stderr)
    sys.exit(1)
print(f"build-book: {len(pages)} pages, every internal link resolves")
PY
# The README's relative links (to the book's sources and the results) must resolve too.
python3 - <<'PY'
import pathlib, re, sys
missing = [t for t in re.findall(r"\]\(([^)#\s]+)", pathlib.Path("README.md").read_text()) if "://" not in t and not pathlib.Path(t).exists()]
if missing:
    sys.exit("build-book: README.md links to missing files: " + ", ".join(missing))
PY
