"""Script-injection payloads for the XSS sweep, each calling a marker of its own.

Every payload that could run calls `__xss(<n>)` (or `alert(<n>)`, to go through the dialog
path) with a number that is never used twice, so a page that runs one says which payload, in
which field, ran: `Markers.describe(n)`. Etherpad's XSS history is the list these come from:
names, titles and chat put into markup, attribute and `<title>`/`<textarea>`/`<style>` breakers,
`javascript:` links (typed, imported as Markdown and HTML, or sent as a raw link attribute),
template syntax that must show literally, mutation-XSS shapes that a sanitiser can get wrong,
and a right-to-left override.

A field takes as many payloads as its length allows, joined by spaces (`Markers.fill`); a field
too short for one payload does not get that one. The browser side is the JavaScript below: the
guard that records calls, the probe that shows a page runs inline scripts (so no CSP protects
it), a reader of the text a person can see, and a look at the DOM for what must never be there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# (name, template): "{n}" becomes the marker. No payload holds "|" (a room or track line of
# the summit form splits on it) or a line break (each is one line of a pad).
PAYLOADS: tuple[tuple[str, str], ...] = (
    ("script", "<script>__xss({n})</script>"),
    ("img-onerror", "<img src=x onerror=__xss({n})>"),
    ("svg-attr-break", '"><svg onload=__xss({n})>'),
    ("javascript-url", "javascript:__xss({n})"),
    ("classic", "'';!--\"<XSS>=&{()}<svg/onload=__xss({n})>"),
    ("title-break", "</title><script>__xss({n})</script>"),
    ("template", "{{7*7}}{% raw %}${7*7}#{7*7}"),
    ("angular", "{{constructor.constructor('__xss({n})')()}}"),
    ("a-javascript", '<a href="javascript:__xss({n})">a{n}</a>'),
    ("single-quote-break", "' onfocus='__xss({n})' autofocus x='"),
    ("double-quote-break", '" onfocus="__xss({n})" autofocus x="'),
    ("backtick-break", "` onmouseover=__xss({n}) x=`"),
    ("textarea-break", "</textarea><script>__xss({n})</script>"),
    ("style-break", "red;}</style><img src=x onerror=__xss({n})>"),
    ("rtl-override", "\u202e<svg onload=__xss({n})>\u202c\u200b"),
    ("markdown-link", "[m{n}](javascript:__xss({n}))"),
    ("iframe-srcdoc", '<iframe srcdoc="<script>parent.__xss({n})</script>"></iframe>'),
    ("details-toggle", "<details open ontoggle=__xss({n})>"),
    ("noscript-mxss", '<noscript><p title="</noscript><img src=x onerror=__xss({n})>">'),
    ("math-mxss", "<math><mtext><table><mglyph><style><img src=x onerror=__xss({n})>"),
    ("alert", "<img src=y onerror=alert({n})>"),
    ("entity-javascript", '<a href="&#106;avascript:__xss({n})">e{n}</a>'),
)

# Markdown links and raw HTML for the pad imports: one of each per payload that can be a link.
LINK_TARGETS: tuple[tuple[str, str], ...] = (
    ("javascript", "javascript:__xss({n})"),
    ("mixed-case", "JaVaScRiPt:__xss({n})"),
    ("tab-inside", "java\tscript:__xss({n})"),
    ("leading-space", " javascript:__xss({n})"),
    ("entity", "&#106;avascript:__xss({n})"),
    ("vbscript", "vbscript:msgbox({n})"),
    ("data-html", "data:text/html,<script>parent.__xss({n})</script>"),
)

# Colours a client may announce for itself (awareness, chat): only #rrggbb may be used.
COLOURS: tuple[str, ...] = (
    '"><img src=x onerror=__xss({n})>',
    "red;background:url(javascript:__xss({n}))",
    "#123456\"><svg onload=__xss({n})>",
    "expression(__xss({n}))",
)


@dataclass
class Markers:
    """Hands out marker numbers and remembers what each one stands for."""

    meaning: dict[int, str] = field(default_factory=dict)
    _next: int = 100

    def mark(self, template: str, where: str, what: str) -> str:
        number = self._next
        self._next += 1
        self.meaning[number] = f"{what} in {where}"
        return template.replace("{n}", str(number))

    def payloads(self, where: str, limit: int = 10_000) -> list[str]:
        """Every payload that fits in `limit` characters, each marked for `where`."""
        return [self.mark(template, where, name) for name, template in PAYLOADS
                if len(template.replace("{n}", "99999")) <= limit]

    def fill(self, where: str, limit: int, *, separator: str = " ") -> list[str]:
        """Values for a field of at most `limit` characters, together holding every payload
        that fits in one: as many values as it takes."""
        values: list[str] = []
        for payload in self.payloads(where, limit):
            if values and len(values[-1]) + len(separator) + len(payload) <= limit:
                values[-1] += separator + payload
            else:
                values.append(payload)
        return values

    def where(self, value: str) -> str:
        """What the first marker in `value` stands for."""
        found = re.search(r"(?:__xss|alert|msgbox)\((\d+)\)|(?:link|[mahe]|md)(\d+)", value)
        return self.describe(found[1] or found[2]) if found else "no marker"

    def describe(self, marker: str) -> str:
        try:
            return self.meaning[int(marker)]
        except (ValueError, KeyError):
            return f"unknown marker {marker!r}"


def shown(text: str) -> str:
    """A value as a page shows it: blanks collapsed."""
    return " ".join(text.split())


_MD_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def markdown_unescaped(text: str) -> str:
    """Markdown source as the text it stands for, as far as the pad's export escapes it."""
    return _MD_ESCAPE.sub(r"\1", text.replace("&#32;", " ").replace("&#9;", "\t"))


# -- JavaScript run in the pages ------------------------------------------------------------

# Before any script of a page (and of every frame in it): calls of the marker are reported to
# the test at once, through a binding the test exposes (so a hit survives a navigation).
GUARD = """
(() => {
  const report = (kind, value) => {
    try { window.top.__xssReport(kind, String(value), location.href) } catch (e) {
      try { window.__xssReport(kind, String(value), location.href) } catch (e2) {}
    }
  }
  Object.defineProperty(window, '__xss', {
    value: n => report('marker', n), writable: false, configurable: false
  })
})()
"""

# Whether an inline script added to the page now runs: true only where no Content-Security-
# Policy stops inline scripts, so where an injected one would have run too.
INLINE_SCRIPT_RUNS = """
() => {
  delete window.__inlineProbe
  const probe = document.createElement('script')
  probe.textContent = 'window.__inlineProbe = 1'
  ;(document.head || document.documentElement).append(probe)
  probe.remove()
  return window.__inlineProbe === 1
}
"""

# The text a person can see: every text node under a rendered element, and the values of
# visible form fields, blanks collapsed.
VISIBLE_TEXT = """
() => {
  const parts = []
  const walker = document.createTreeWalker(document.body || document.documentElement,
                                           NodeFilter.SHOW_TEXT)
  const seen = new Map()
  const visible = element => {
    if (!seen.has(element)) {
      seen.set(element, element.checkVisibility({ visibilityProperty: true }) &&
        !['SCRIPT', 'STYLE', 'TEMPLATE', 'NOSCRIPT'].includes(element.tagName))
    }
    return seen.get(element)
  }
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.parentElement && visible(node.parentElement)) parts.push(node.data)
  }
  for (const input of document.querySelectorAll('input, textarea')) {
    if (input.type !== 'hidden' && visible(input)) parts.push(' ' + input.value + ' ')
  }
  return parts.join('').replace(/\\s+/g, ' ')
}
"""

# What must never be in a page built from people's text: event handler attributes, links to
# javascript:, vbscript: or data:, sources of javascript: or vbscript:, frames of any kind, and
# scripts from anywhere but the site's own static files.
DOM_FINDINGS = """
() => {
  const found = []
  const bad = /^\\s*(javascript|vbscript):/i
  const badLink = /^\\s*(javascript|vbscript|data):/i
  const describe = el => el.outerHTML.slice(0, 160)
  for (const el of document.querySelectorAll('*')) {
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase()
      if (name.startsWith('on')) found.push('handler ' + name + ': ' + describe(el))
      const value = attr.value.replace(/[\\u0000-\\u0020]/g, '')
      if ((['src', 'data'].includes(name) && bad.test(value)) ||
          (['href', 'action', 'formaction', 'xlink:href'].includes(name) && badLink.test(value))) {
        found.push(name + ' ' + attr.value.slice(0, 60) + ': ' + describe(el))
      }
    }
    if (el.tagName === 'IFRAME' || el.tagName === 'FRAME' || el.tagName === 'OBJECT' ||
        el.tagName === 'EMBED') found.push('frame: ' + describe(el))
    if (el.tagName === 'SCRIPT' && !(el.src && new URL(el.src).pathname.startsWith('/static/'))) {
      found.push('script: ' + describe(el))
    }
  }
  return found
}
"""
