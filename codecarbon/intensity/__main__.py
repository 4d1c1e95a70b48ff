"""`python -m codecarbon.intensity countries | regions ISO3 | cloud [PROVIDER] | sources`: what the table knows.

Error messages about an unknown country, region or cloud region point here.
"""

from __future__ import annotations

import argparse
import sys
from typing import Optional

from codecarbon.intensity import tables


def _print_countries() -> None:
    for code, name in tables.list_countries():
        record = tables.country(code) or {}
        regional = len(tables.list_regions(code))
        more = f"  ({regional} regions: `regions {code}`)" if regional else ""
        print(f"{code}  {record.get('iso2', '  ')}  {record['g']:>8.1f} g/kWh  {record.get('year') or '':<4}  "
              f"{name}{more}")


def _print_regions(iso3: str) -> int:
    names = tables.list_regions(iso3)
    if not names:
        print(f"No regional figures for {iso3.upper()}: the country's figure applies to all its regions.")
        return 0
    for name in names:
        record = tables.regions(iso3)[name]
        code = record.get("code", "")
        aka = f"  (also: {', '.join(record['aka'])})" if record.get("aka") else ""
        print(f"{name:<28} {code:<5} {record['g']:>8.1f} g/kWh  {record.get('year') or '':<4}  {record['src']}{aka}")
    return 0


def _print_cloud(provider: Optional[str]) -> int:
    pairs = tables.list_cloud_regions(provider)
    if not pairs:
        print(f"No cloud regions for provider {provider!r}; known providers: "
              f"{', '.join(sorted({p for p, _ in tables.list_cloud_regions()}))}")
        return 1
    for name, region in pairs:
        record = tables.cloud_region(name, region) or {}
        place = ", ".join(part for part in (record.get("city"), record.get("state"), record.get("country")) if part)
        print(f"{name:<6} {region:<26} {record['g']:>8.1f} g/kWh  {record.get('year') or '':<4}  {place}")
    return 0


def _print_sources() -> None:
    for key, source in sorted(tables.sources().items()):
        year = f" ({source['year']})" if source.get("year") else ""
        print(f"{key}{year}: {source['title']} — {source['url']} — licence: {source['licence']}")


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m codecarbon.intensity",
                                     description="List the carbon-intensity figures bundled with codecarbon.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("countries", help="ISO alpha-3 codes valid for country_iso_code")
    regions = commands.add_parser("regions", help="regions valid for region, for one country")
    regions.add_argument("country_iso_code")
    cloud = commands.add_parser("cloud", help="cloud_provider/cloud_region pairs")
    cloud.add_argument("provider", nargs="?")
    commands.add_parser("sources", help="where the figures come from")
    args = parser.parse_args(argv)
    if args.command == "countries":
        _print_countries()
    elif args.command == "regions":
        return _print_regions(args.country_iso_code)
    elif args.command == "cloud":
        return _print_cloud(args.provider)
    else:
        _print_sources()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # `... | head` closed the pipe: not an error
        sys.stderr.close()
        sys.exit(0)
