"""The one page shell of the HTML the build writes itself: the site's pages and the crate's preview.

Pages made by other tools (pandoc's paper, nbconvert's notebooks) keep their own.
A page here is plain HTML 5 with its style inline, so it opens from disk, offline,
with nothing beside it.
"""

from __future__ import annotations

import html

#: The pages' style: a readable column, sans-serif headings, ruled tables.
STYLE = """\
body { max-width: 60em; margin: 2em auto; padding: 0 1em; font-family: Georgia, serif;
       line-height: 1.5; color: #1a1a1a; }
h1, h2 { font-family: Arial, sans-serif; }
table { border-collapse: collapse; font-size: 0.85em; width: 100%; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3em 0.5em; text-align: left;
          vertical-align: top; }
th { border-bottom: 2px solid #444; }
code { font-size: 0.9em; }
.notice { border-left: 4px solid #E69F00; background: #fff7e6; padding: 0.5em 1em; }
"""


def page(title: str, body: str, *, style: str = "", head: str = "") -> str:
    """A whole HTML 5 page: ``title`` (escaped here), then ``body`` as given (already HTML).

    Parameters
    ----------
    title : str
        The page's title, plain text.
    body : str
        The page's body, HTML whose text the caller has escaped.
    style : str, optional
        CSS added after :data:`STYLE`.
    head : str, optional
        HTML added at the end of the ``head`` element (the crate's preview puts its
        JSON-LD there).
    """
    return f"""<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>
{STYLE}{style}</style>
{head}</head>
<body>
{body}
</body>
</html>
"""
