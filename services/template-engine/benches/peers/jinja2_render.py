#!/usr/bin/env python3
"""Renders the benchmark email with Jinja2: same templates and data as benches/render.rs.

Usage: jinja2_render.py [ITERATIONS]   (prints one line: engine=… renders_per_sec=…)
       jinja2_render.py --dump         (prints the rendered email)

The filters the templates use that Jinja2 lacks (currency, number, date, slugify) are
defined here with the semantics of machina-template-engine's; truncate is Jinja2's own.
"""
import json
import os
import re
import sys
import time
import unicodedata
from datetime import datetime, timezone

import jinja2

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")
TEMPLATES = ["layout.html", "macros.html", "product_card.html", "product_list.html"]


def grouped(value, decimals, sep=",", point="."):
    text = f"{abs(float(value)):,.{decimals}f}" if decimals or isinstance(value, float) else f"{abs(int(value)):,}"
    text = text.replace(",", "\0").replace(".", point).replace("\0", sep)
    negative = float(value) < 0 and any(c not in "0.," for c in text)
    return ("-" if negative else ""), text


def number(value, decimals=0, thousands_sep=",", decimal_point="."):
    sign, text = grouped(value, decimals, thousands_sep, decimal_point)
    return sign + text


def currency(value, symbol="$", decimals=2, thousands_sep=",", decimal_point="."):
    sign, text = grouped(value, decimals, thousands_sep, decimal_point)
    return sign + symbol + text


def date(value, format="%Y-%m-%d"):
    if isinstance(value, (int, float)):
        at = datetime.fromtimestamp(value, tz=timezone.utc)
    else:
        at = datetime.fromisoformat(value)
    return at.strftime(format)


def slugify(value):
    folded = "".join(c for c in unicodedata.normalize("NFKD", value) if not unicodedata.combining(c))
    return "-".join(w for w in re.split(r"[^\w]|_", folded.lower()) if w)


def environment():
    loader = jinja2.DictLoader({n: open(os.path.join(FIXTURES, n), encoding="utf-8").read() for n in TEMPLATES})
    env = jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters.update(number=number, currency=currency, date=date, slugify=slugify)
    return env


def main():
    env = environment()
    data = json.load(open(os.path.join(FIXTURES, "data.json"), encoding="utf-8"))
    template = env.get_template("product_list.html")
    if sys.argv[1:] == ["--dump"]:
        sys.stdout.write(template.render(data))
        return
    iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    for _ in range(max(1, iterations // 10)):
        out = template.render(data)
    started = time.perf_counter()
    for _ in range(iterations):
        template.render(data)
    seconds = time.perf_counter() - started
    print(f"engine=jinja2-{jinja2.__version__} renders={iterations} seconds={seconds:.3f} "
          f"renders_per_sec={iterations / seconds:.0f} bytes={len(out.encode())}")


if __name__ == "__main__":
    main()
