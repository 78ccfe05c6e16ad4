"""`shnor` — the command line of shnor-reports.

  shnor demo --out data/demo [--schools 64] [--seed N] [--format csv|parquet]
  shnor ingest FILE… --out DATASET [--schools schools.csv] [--secret-file F] [--max-file-mb N]
  shnor real-files DATASET --out DIR
  shnor validate DATASET
  shnor indicators DATASET --out FILE.csv
  shnor run params/demo.yaml [--workers N] [--scope school …] [--limit N] [--dry-run] [--force]
            [--retry-failed] [--pdf] [--isolation warm|fresh] [--scheduler tcp://HOST:PORT]
  shnor render params/demo.yaml [--pdf] [--workers N]   (HTML/PDF of the executed notebooks again)
  shnor index params/demo.yaml                          (index.html, sidecars, Excel again)
  shnor whatif params/demo.yaml --set low_results_rule.share_failed=25 [--set …] [--methodology DIR] [--name N]
"""
from __future__ import annotations

import argparse
import sys

from shnor_utils.analyses import compute_all
from shnor_utils.batch.config import load_config
from shnor_utils.batch.prepare import load_data
from shnor_utils.batch.runner import index_batch, render_batch, run_batch
from shnor_utils.data.dataset import load_dataset
from shnor_utils.data.formats.writers import write_real_files
from shnor_utils.data.ingest import ingest
from shnor_utils.demo import generate
from shnor_utils.errors import ShnorError
from shnor_utils.indicators import write_indicators
from shnor_utils.indicators.privacy import suppress
from shnor_utils.methodology import load_methodology
from shnor_utils.whatif import whatif


def _demo(args) -> int:
    truth = generate(args.out, schools=args.schools, seed=args.seed, fmt=args.format)
    print(f"Демонстрационный регион записан в {args.out}: школ {args.schools}, годы {truth.get('years')}")
    if args.real_files:
        paths = write_real_files(args.out, args.real_files)
        print(f"Он же в макетах реальных файлов (ФИС ОКО, РЦОИ, ОО-1): {len(paths)} файлов в {args.real_files}")
    return 0


def _ingest(args) -> int:
    result = ingest(args.files, args.out, schools_file=args.schools, secret_file=args.secret_file,
                    max_mb=args.max_file_mb, wave=args.wave)
    print(result.report.to_text())
    return result.exit_code


def _real_files(args) -> int:
    paths = write_real_files(args.dataset, args.out)
    print(f"Записано файлов в макетах ФИС ОКО, РЦОИ и ОО-1: {len(paths)} → {args.out}")
    return 0


def _validate(args) -> int:
    ds = load_dataset(args.dataset)
    for name, f in ds.files.items():
        print(f"{name:22s} {f.rows:>9d} строк  {f.path.name}")
    for note in ds.notes:
        print(f"Примечание: {note}")
    print("Набор данных соответствует контракту.")
    return 0


def _indicators(args) -> int:
    meth = load_methodology()
    ds = load_dataset(args.dataset, methodology=meth)
    frame = suppress(compute_all(ds, meth), meth)   # privacy: the export shows no small groups
    write_indicators(frame, args.out)
    print(f"Показателей: {len(frame)}; записано в {args.out}")
    return 0


def _run(args) -> int:
    return run_batch(args.params, workers=args.workers, only_scope=args.scope, limit=args.limit, force=args.force,
                     dry_run=args.dry_run, retry_failed=args.retry_failed, scheduler=args.scheduler,
                     pdf=True if args.pdf else None, isolation=args.isolation)


def _render(args) -> int:
    return render_batch(args.params, pdf=args.pdf, workers=args.workers)


def _index(args) -> int:
    return index_batch(args.params)


def _whatif(args) -> int:
    cfg = load_config(args.params)
    meth = load_methodology(cfg.methodology)
    # the dataset is loaded once (after the changed keys are checked); both methodologies use it
    result = whatif(lambda: load_data(cfg, meth), meth, cfg.methodology, args.set, args.methodology, cfg.output, name=args.name,
                    region_name=cfg.region_name)
    print(result.summary())
    print("Записано: " + ", ".join(str(p) for p in result.paths))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="shnor", description="Отчёты ШНОР: ВПР, ГИА, кадры, динамика показателей")
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="сгенерировать демонстрационный регион")
    d.add_argument("--out", default="data/demo")
    d.add_argument("--schools", type=int, default=64)
    d.add_argument("--seed", type=int, default=20261122)
    d.add_argument("--format", choices=["csv", "parquet"], default="csv")
    d.add_argument("--real-files", metavar="DIR", default=None,
                   help="записать регион ещё и в макетах реальных файлов (Ф1 ФИС ОКО, протоколы РЦОИ, ОО-1)")
    d.set_defaults(fn=_demo)
    g = sub.add_parser("ingest", help="загрузить реальные файлы (ФИС ОКО, РЦОИ, ОО-1) в набор данных")
    g.add_argument("files", nargs="+", metavar="FILE", help="книги .xlsx/.xls в любом порядке")
    g.add_argument("--out", required=True, metavar="DATASET", help="папка набора данных (заменяется целиком)")
    g.add_argument("--schools", default=None, metavar="CSV",
                   help="справочник школ: school_id, settlement, school_type, … (и rcoi_code — код ОО в РЦОИ)")
    g.add_argument("--secret-file", default=None, metavar="FILE",
                   help="секрет для псевдонимизации участников ГИА (иначе переменная SHNOR_SECRET)")
    g.add_argument("--max-file-mb", type=float, default=None, metavar="MB",
                   help="предел размера одного файла (по умолчанию 30 МБ или SHNOR_MAX_FILE_MB)")
    g.add_argument("--wave", choices=["весна", "осень"], default="весна", help="волна ВПР для всех файлов")
    g.set_defaults(fn=_ingest)
    x = sub.add_parser("real-files", help="записать набор данных в макетах реальных файлов (для проверки и обучения)")
    x.add_argument("dataset")
    x.add_argument("--out", required=True, metavar="DIR")
    x.set_defaults(fn=_real_files)
    v = sub.add_parser("validate", help="проверить набор данных по контракту")
    v.add_argument("dataset")
    v.set_defaults(fn=_validate)
    i = sub.add_parser("indicators", help="выгрузить таблицу показателей (CSV или Parquet)")
    i.add_argument("dataset")
    i.add_argument("--out", required=True)
    i.set_defaults(fn=_indicators)
    r = sub.add_parser("run", help="выполнить набор отчётов из файла параметров")
    r.add_argument("params")
    r.add_argument("--workers", type=int, default=None, help="число параллельных отчётов (по умолчанию — workers из файла параметров, иначе число ядер)")
    r.add_argument("--scope", action="append", choices=["school", "municipality", "region"],
                   help="только отчёты этого охвата (можно несколько раз)")
    r.add_argument("--limit", type=int, default=None, help="не больше N отчётов (для пробы)")
    r.add_argument("--dry-run", action="store_true", help="показать план (что выполнить, что актуально) и выйти")
    r.add_argument("--force", action="store_true", help="выполнить все отчёты, даже актуальные")
    r.add_argument("--retry-failed", action="store_true", help="выполнить только отчёты, упавшие в прошлый раз")
    r.add_argument("--pdf", action="store_true", help="также PDF каждого отчёта (A4)")
    r.add_argument("--isolation", choices=["warm", "fresh"], default=None,
                   help="warm — тёплое ядро на поток (быстро), fresh — новое ядро на отчёт (Papermill)")
    r.add_argument("--scheduler", default=None, help="адрес планировщика Dask (tcp://HOST:PORT) для распределённого запуска")
    r.set_defaults(fn=_run)
    h = sub.add_parser("render", help="пересоздать HTML (и PDF) выполненных отчётов пакета, не выполняя их")
    h.add_argument("params")
    h.add_argument("--pdf", action="store_true", help="также PDF каждого отчёта (A4)")
    h.add_argument("--workers", type=int, default=None, help="число параллельных отчётов (по умолчанию — из файла или число ядер)")
    h.set_defaults(fn=_render)
    n = sub.add_parser("index", help="пересоздать оглавление, файлы показателей и книгу Excel пакета, не выполняя отчёты")
    n.add_argument("params")
    n.set_defaults(fn=_index)
    w = sub.add_parser("whatif", help="что если: пересчитать показатели при других порогах методики и сравнить перечни")
    w.add_argument("params")
    w.add_argument("--set", action="append", default=[], metavar="КЛЮЧ=ЗНАЧЕНИЕ",
                   help="порог из thresholds.yaml, например low_results_rule.share_failed=25 (можно несколько раз)")
    w.add_argument("--methodology", default=None, metavar="DIR",
                   help="другая папка наложения методики вместо указанной в файле параметров")
    w.add_argument("--name", default=None, help="имя файлов output/whatif/<имя>.html и .xlsx")
    w.set_defaults(fn=_whatif)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.fn(args)
    except ShnorError as exc:
        print(f"Ошибка: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("Прервано.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
