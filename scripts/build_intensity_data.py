#!/usr/bin/env python3
"""Build the package's carbon-intensity table from the public figures in ../shared/reference-data.

Why a script: the bundled table must be traceable to its sources and rebuildable when they are updated, and it
is written in this package's own compact format (one JSON file, sorted keys), never as a copy of a source file.
A test checks that the committed file equals what this script builds.

Usage: python scripts/build_intensity_data.py [--reference DIR] [--output FILE] [--check]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REFERENCE = REPO_ROOT.parent / "shared" / "reference-data"
DEFAULT_OUTPUT = REPO_ROOT / "codecarbon" / "data" / "carbon_intensity.json"
FORMAT_VERSION = 1

LB_PER_MWH_TO_G_PER_KWH = 0.45359237  # 1 lb = 453.59237 g and 1 MWh = 1000 kWh
WORLD_AVERAGE_KEY = "world_average"

# Generation sources of the country table (TWh columns) → key of the life-cycle factor table. Used only for a
# country without a published intensity; "fossil" and "renewables" are sums of these and stay out.
COUNTRY_SOURCE_FACTORS = {
    "coal_TWh": "coal",
    "gas_TWh": "natural_gas",
    "oil_TWh": "petroleum",
    "hydroelectricity_TWh": "hydroelectricity",
    "nuclear_TWh": "nuclear",
    "solar_TWh": "solar",
    "wind_TWh": "wind",
    "biofuel_TWh": "biofuel",  # bioenergy: the biomass life-cycle factor, under the name the mix uses
}
# Share of generation that the factors must cover for a computed country figure to be trusted.
MIN_COVERED_SHARE = 0.9

# Canadian provincial mix (percent of generation) → g/kWh of the fossil sources, as CodeCarbon 3.3.2 weights it:
# the energy-usage project's conversion factors (kg/kWh × 1000); every other source (hydro, nuclear, wind,
# solar, biomass, tidal, other) counts as zero, so a province's figure is its fossil share's direct emissions.
CANADA_FOSSIL_FACTORS = {
    "coal": 995.725971,
    "petroleum": 816.6885263,
    "naturalGas": 743.8415916,
}

# Nordic bidding-zone prefix → the country it belongs to.
NORDIC_ZONE_COUNTRY = {"SE": "SWE", "NO": "NOR", "DK": "DNK", "FI": "FIN"}

# Region ids misspelt in the compiled cloud table, and their real names.
CLOUD_REGION_FIXES = {"me-cenrtal1": "me-central1"}

# Google Cloud regions published in the region-carbon files but absent from the compiled cloud table:
# region → (country iso3, country name, state, city).
GCP_EXTRA_REGIONS = {
    "europe-north2": ("SWE", "Sweden", "", "Stockholm"),
    "northamerica-south1": ("MEX", "Mexico", "Queretaro", "Queretaro"),
    "us-central2": ("USA", "USA", "Oklahoma", "Pryor"),
    "us-east2": ("USA", "USA", "Georgia", ""),  # the region file names the state only
}

# ISO 3166-1 alpha-3 → alpha-2 (facts of the standard), five characters a pair.
ISO_ALPHA3_ALPHA2 = """
ABWAW AFGAF AGOAO AIAAI ALAAX ALBAL ANDAD AREAE ARGAR ARMAM ASMAS ATAAQ ATFTF ATGAG AUSAU AUTAT AZEAZ BDIBI
BELBE BENBJ BESBQ BFABF BGDBD BGRBG BHRBH BHSBS BIHBA BLMBL BLRBY BLZBZ BMUBM BOLBO BRABR BRBBB BRNBN BTNBT
BVTBV BWABW CAFCF CANCA CCKCC CHECH CHLCL CHNCN CIVCI CMRCM CODCD COGCG COKCK COLCO COMKM CPVCV CRICR CUBCU
CUWCW CXRCX CYMKY CYPCY CZECZ DEUDE DJIDJ DMADM DNKDK DOMDO DZADZ ECUEC EGYEG ERIER ESHEH ESPES ESTEE ETHET
FINFI FJIFJ FLKFK FRAFR FROFO FSMFM GABGA GBRGB GEOGE GGYGG GHAGH GIBGI GINGN GLPGP GMBGM GNBGW GNQGQ GRCGR
GRDGD GRLGL GTMGT GUFGF GUMGU GUYGY HKGHK HMDHM HNDHN HRVHR HTIHT HUNHU IDNID IMNIM INDIN IOTIO IRLIE IRNIR
IRQIQ ISLIS ISRIL ITAIT JAMJM JEYJE JORJO JPNJP KAZKZ KENKE KGZKG KHMKH KIRKI KNAKN KORKR KWTKW LAOLA LBNLB
LBRLR LBYLY LCALC LIELI LKALK LSOLS LTULT LUXLU LVALV MACMO MAFMF MARMA MCOMC MDAMD MDGMG MDVMV MEXMX MHLMH
MKDMK MLIML MLTMT MMRMM MNEME MNGMN MNPMP MOZMZ MRTMR MSRMS MTQMQ MUSMU MWIMW MYSMY MYTYT NAMNA NCLNC NERNE
NFKNF NGANG NICNI NIUNU NLDNL NORNO NPLNP NRUNR NZLNZ OMNOM PAKPK PANPA PCNPN PERPE PHLPH PLWPW PNGPG POLPL
PRIPR PRKKP PRTPT PRYPY PSEPS PYFPF QATQA REURE ROURO RUSRU RWARW SAUSA SDNSD SENSN SGPSG SGSGS SHNSH SJMSJ
SLBSB SLESL SLVSV SMRSM SOMSO SPMPM SRBRS SSDSS STPST SURSR SVKSK SVNSI SWESE SWZSZ SXMSX SYCSC SYRSY TCATC
TCDTD TGOTG THATH TJKTJ TKLTK TKMTM TLSTL TONTO TTOTT TUNTN TURTR TUVTV TWNTW TZATZ UGAUG UKRUA UMIUM URYUY
USAUS UZBUZ VATVA VCTVC VENVE VGBVG VIRVI VNMVN VUTVU WLFWF WSMWS YEMYE ZAFZA ZMBZM ZWEZW
"""

SOURCES: dict[str, dict[str, Any]] = {
    "owid-energy": {
        "title": "Our World in Data energy dataset (data from Ember and the Energy Institute), "
                 "carbon intensity of electricity, latest year per country",
        "url": "https://github.com/owid/energy-data",
        "licence": "CC BY 4.0",
    },
    "owid-energy-mix": {
        "title": "Our World in Data generation mix (TWh by source) weighted by the life-cycle factors of "
                 "'lifecycle-factors', for countries without a published intensity",
        "url": "https://github.com/owid/energy-data",
        "licence": "CC BY 4.0",
    },
    "lifecycle-factors": {
        "title": "Life-cycle gCO2eq/kWh per generation source: coal, petroleum, natural gas (energy-usage "
                 "project / US EPA eGRID), hydro, nuclear, solar, wind, geothermal (World Nuclear Association, "
                 "comparison of life-cycle emissions), biomass, biofuel and waste (IPCC AR5 WG3 annex III, "
                 "table A.III.2, dedicated biomass median)",
        "url": "https://world-nuclear.org/",
        "licence": "facts",
    },
    "egrid-2023": {
        "title": "US EPA eGRID2023, state annual CO2-equivalent total output emission rate (field STC2ERTA), "
                 "lbs/MWh converted to g/kWh",
        "url": "https://www.epa.gov/egrid/download-data",
        "licence": "US public domain",
        "year": 2023,
    },
    "cer-2023-mix": {
        "title": "Canada Energy Regulator 2023 provincial generation mix; g/kWh = share of coal × 995.73 + "
                 "petroleum × 816.69 + natural gas × 743.84 (energy-usage project conversion factors, the "
                 "weighting CodeCarbon 3.3.2 applies); other sources count as zero",
        "url": "https://www.cer-rec.gc.ca/en/data-analysis/energy-markets/provincial-territorial-energy-profiles/",
        "licence": "facts",
        "year": 2023,
    },
    "mee-china-2023": {
        "title": "China Ministry of Ecology and Environment and National Bureau of Statistics, announcement "
                 "2025 No. 47, table 3: provincial average electricity CO2 emission factors (CO2 only, "
                 "location-based, with inter-provincial transfers)",
        "url": "https://www.mee.gov.cn/xxgk2018/xxgk/xxgk01/202512/t20251231_1139517.html",
        "licence": "facts",
        "year": 2023,
    },
    "entsoe-nordic": {
        "title": "Nordic bidding-zone emission factors, historical averages from ENTSO-E data",
        "url": "https://transparency.entsoe.eu/",
        "licence": "facts",
    },
    "gcp-region-carbon": {
        "title": "Google Cloud region carbon information, grid carbon intensity (gCO2eq/kWh)",
        "url": "https://github.com/GoogleCloudPlatform/region-carbon-info",
        "licence": "Apache-2.0",
    },
    "cloud-impact": {
        "title": "Cloud region carbon intensity as compiled in the CodeCarbon repository from providers' "
                 "published region data (Google's 2023 figures); used where no newer Google figure exists",
        "url": "https://github.com/mlco2/codecarbon",
        "licence": "MIT",
    },
    "world-average": {
        "title": "World average carbon intensity of electricity (IEA Global Energy & CO2 Status Report 2019)",
        "url": "https://www.iea.org/reports/global-energy-co2-status-report-2019/emissions",
        "licence": "facts",
        "year": 2019,
    },
}


def _round(value: float) -> float:
    """Three decimals: finer than any source's precision, and stable across platforms."""
    return round(float(value), 3)


def _read_json(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [{k.strip(): (v or "").strip() for k, v in row.items()} for row in csv.DictReader(handle)]


def iso_alpha2_table() -> dict[str, str]:
    pairs = ISO_ALPHA3_ALPHA2.split()
    return {pair[:3]: pair[3:] for pair in pairs}


def lifecycle_factors(reference: Path) -> dict[str, float]:
    """The per-source life-cycle factors (g/kWh), numbers only."""
    raw = _read_json(reference / "codecarbon-3.x" / "carbon_intensity_per_source.json")
    return {k: float(v) for k, v in raw.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def build_countries(reference: Path, factors: dict[str, float]) -> dict[str, dict[str, Any]]:
    """ISO alpha-3 → name, alpha-2, g/kWh, year, source.

    The published figure is used whenever there is one, 0.0 included (as CodeCarbon 3.3.2 does); the generation
    mix × life-cycle factors only fills a missing figure, and only when the factors cover most of the mix.
    """
    mix = _read_json(reference / "codecarbon-3.x" / "global_energy_mix.json")
    alpha2 = iso_alpha2_table()
    countries: dict[str, dict[str, Any]] = {}
    for iso3, row in mix.items():
        iso3 = iso3.upper()
        entry: dict[str, Any] = {"name": row.get("country_name") or iso3, "year": row.get("year")}
        if iso3 in alpha2:
            entry["iso2"] = alpha2[iso3]
        published = row.get("carbon_intensity")
        if isinstance(published, (int, float)) and not isinstance(published, bool) and published >= 0:
            entry["g"] = _round(published)
            entry["src"] = "owid-energy"
        else:
            computed = mix_intensity(row, factors)
            if computed is None:
                continue
            entry["g"] = computed
            entry["src"] = "owid-energy-mix"
        countries[iso3] = entry
    return countries


def mix_intensity(row: dict[str, Any], factors: dict[str, float]) -> float | None:
    """Σ TWh × factor / total TWh over the sources with a factor; None when they cover too little of the total."""
    total = float(row.get("total_TWh") or 0.0)
    if total <= 0:
        return None
    present = {col: float(row.get(col) or 0.0) for col, key in COUNTRY_SOURCE_FACTORS.items() if key in factors}
    if sum(present.values()) / total < MIN_COVERED_SHARE:
        return None
    weighted = sum(twh * factors[COUNTRY_SOURCE_FACTORS[col]] for col, twh in present.items())
    return _round(weighted / total)


def build_us_states(reference: Path) -> dict[str, dict[str, Any]]:
    """Lower-case state name → 2-letter code and g/kWh (eGRID2023 lbs/MWh × 0.45359237)."""
    raw = _read_json(reference / "codecarbon-3.x" / "2023_usa_emissions.json")
    year = int(raw.get("_source", {}).get("year") or 2023)
    states: dict[str, dict[str, Any]] = {}
    for name, row in raw.items():
        if name.startswith("_") or not isinstance(row, dict):
            continue
        code = str(row.get("regionCode", ""))
        if len(code) != 2 or not code.isalpha():
            continue  # the national "usa" row: the country figure covers that
        states[name.strip().lower()] = {
            "code": code.upper(),
            "g": _round(float(row["emissions"]) * LB_PER_MWH_TO_G_PER_KWH),
            "year": year,
            "src": f"egrid-{year}",
        }
    return states


def build_chinese_provinces(reference: Path) -> dict[str, dict[str, Any]]:
    """Lower-case province name → ISO 3166-2 code, other names, g/kWh (CO2 only, as published), year."""
    raw = _read_json(reference / "codecarbon-3.x" / "2023_china_provincial_emissions.json")
    provinces: dict[str, dict[str, Any]] = {}
    for code, row in raw.get("data", {}).items():
        name = " ".join(str(row.get("description") or "").split()).lower()
        if not name or not code.upper().startswith("CN-"):
            continue
        entry: dict[str, Any] = {"code": code.upper(), "g": _round(row["emission_factor"]),
                                 "year": row.get("year"), "src": "mee-china-2023"}
        aliases = sorted({" ".join(str(a).split()).lower() for a in row.get("names", [])} - {name})
        if aliases:
            entry["aka"] = aliases
        provinces[name] = entry
    return provinces


def build_canadian_provinces(reference: Path) -> dict[str, dict[str, Any]]:
    """Lower-case province/territory → g/kWh = Σ fossil share × factor over the 2023 mix (3.3.2's weighting)."""
    raw = _read_json(reference / "codecarbon-3.x" / "2023_canada_energy_mix.json")
    provinces: dict[str, dict[str, Any]] = {}
    for name, mix in raw.items():
        total = float(mix.get("total") or 0.0)
        if total <= 0:
            continue
        weighted = sum(float(mix.get(col) or 0.0) * factor for col, factor in CANADA_FOSSIL_FACTORS.items())
        provinces[name.strip().lower()] = {"g": _round(weighted / total), "year": 2023, "src": "cer-2023-mix"}
    return provinces


def build_nordic_zones(reference: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """Country iso3 → lower-case zone → g/kWh and year."""
    raw = _read_json(reference / "codecarbon-3.x" / "nordic_emissions.json")
    zones: dict[str, dict[str, dict[str, Any]]] = {}
    for zone, row in raw.get("data", {}).items():
        country = NORDIC_ZONE_COUNTRY.get(zone.upper()[:2])
        if country is None:
            continue
        zones.setdefault(country, {})[zone.lower()] = {
            "g": _round(row["emission_factor"]),
            "year": row.get("year"),
            "src": "entsoe-nordic",
            "name": row.get("description", ""),
        }
    return zones


def _latest_gcp_figures(reference: Path) -> tuple[int | None, dict[str, dict[str, Any]]]:
    """The newest google-cloud-region-carbon year: region → location and grid g/kWh."""
    folder = reference / "google-cloud-region-carbon"
    files = sorted(folder.glob("[0-9][0-9][0-9][0-9].csv")) if folder.is_dir() else []
    if not files:
        return None, {}
    latest = files[-1]
    figures: dict[str, dict[str, Any]] = {}
    for row in _read_csv(latest):
        region = row.get("Google Cloud Region", "")
        grid = next((v for k, v in row.items() if k.lower().startswith("grid carbon intensity")), "")
        if region and grid:
            figures[region] = {"location": row.get("Location", ""), "g": _round(float(grid))}
    return int(latest.stem), figures


def build_cloud_regions(reference: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """Provider → region id → country, state, city, g/kWh, year, source."""
    regions: dict[str, dict[str, dict[str, Any]]] = {}
    for row in _read_csv(reference / "codecarbon-3.x" / "cloud_impact.csv"):
        provider = row["provider"].lower()
        region = CLOUD_REGION_FIXES.get(row["region"], row["region"])
        if not provider or not region or not row.get("impact"):
            continue
        regions.setdefault(provider, {})[region] = {
            "iso3": row["countryIsoCode"].upper(),
            "country": row["country_name"],
            "state": row.get("state", ""),
            "city": row.get("city", ""),
            "g": _round(float(row["impact"])),
            "year": None,
            "src": "cloud-impact",
        }
    year, gcp = _latest_gcp_figures(reference)
    gcp_table = regions.setdefault("gcp", {})
    for region, figure in gcp.items():
        entry = gcp_table.get(region)
        if entry is None:
            if region not in GCP_EXTRA_REGIONS:
                continue  # no country known for it: cannot place it
            iso3, country, state, city = GCP_EXTRA_REGIONS[region]
            entry = {"iso3": iso3, "country": country, "state": state, "city": city}
            gcp_table[region] = entry
        entry.update({"g": figure["g"], "year": year, "src": "gcp-region-carbon"})
    return regions


def build(reference: Path) -> dict[str, Any]:
    """The whole table, as written to codecarbon/data/carbon_intensity.json."""
    factors = lifecycle_factors(reference)
    nordic = _read_json(reference / "codecarbon-3.x" / "nordic_emissions.json")
    sources = json.loads(json.dumps(SOURCES))  # a copy: the constant stays untouched across calls
    sources["lifecycle-factors"]["factors"] = {k: v for k, v in factors.items() if k != WORLD_AVERAGE_KEY}
    nordic_source = nordic.get("metadata", {}).get("source")
    if nordic_source:
        sources["entsoe-nordic"]["title"] = f"Nordic bidding-zone emission factors: {nordic_source}"
    nordic_years = {row.get("year") for row in nordic.get("data", {}).values()}
    if len(nordic_years) == 1 and None not in nordic_years:
        sources["entsoe-nordic"]["year"] = nordic_years.pop()
    gcp_year, _ = _latest_gcp_figures(reference)
    if gcp_year:
        sources["gcp-region-carbon"]["year"] = gcp_year
    regions: dict[str, Any] = {"USA": build_us_states(reference), "CAN": build_canadian_provinces(reference),
                               "CHN": build_chinese_provinces(reference)}
    regions.update(build_nordic_zones(reference))
    return {
        "format": FORMAT_VERSION,
        "unit": "gCO2eq/kWh",
        "world_average": {"g": _round(factors.get(WORLD_AVERAGE_KEY, 475.0)), "year": 2019, "src": "world-average"},
        "iso_alpha2": iso_alpha2_table(),
        "countries": build_countries(reference, factors),
        "regions": regions,
        "cloud": build_cloud_regions(reference),
        "sources": sources,
    }


def _depth(value: Any) -> int:
    return 1 + max(map(_depth, value.values()), default=0) if isinstance(value, dict) else 0


def _render(value: Any, indent: str) -> str:
    """Dicts of records go one record a line; records themselves stay on one line."""
    if _depth(value) < 2:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    inner = indent + " "
    items = [f"{inner}{json.dumps(key, ensure_ascii=False)}:{_render(value[key], inner)}" for key in sorted(value)]
    return "{\n" + ",\n".join(items) + "\n" + indent + "}"


def render(table: dict[str, Any]) -> str:
    """Deterministic text: sorted keys, one record a line, so that a data update reads well in a diff."""
    return _render(table, "") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE, help="reference-data folder")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="file to write")
    parser.add_argument("--check", action="store_true", help="exit 1 when the output file is out of date")
    args = parser.parse_args(argv)
    if not (args.reference / "codecarbon-3.x").is_dir():
        parser.error(f"--reference {args.reference}: no codecarbon-3.x folder there (see its README.md)")
    text = render(build(args.reference))
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date; rerun scripts/build_intensity_data.py", file=sys.stderr)
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output} ({len(text.encode())} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
