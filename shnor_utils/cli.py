"""`shnor` — the command line of shnor-reports.

  shnor demo --out data/demo [--schools 64] [--seed N] [--format csv|parquet]
  shnor ingest FILE|FOLDER… --out DATASET [--schools schools.csv] [--secret-file F] [--max-file-mb N]
               [--year Y] [--grade G] [--wave весна|осень] [--strict]
  shnor real-files DATASET --out DIR
  shnor validate DATASET
  shnor indicators DATASET --out FILE.csv
  shnor run params/demo.yaml [--workers N] [--scope school …] [--limit N] [--dry-run] [--force]
            [--retry-failed] [--pdf] [--docx] [--isolation warm|fresh] [--scheduler tcp://HOST:PORT]
  shnor render params/demo.yaml [--pdf] [--docx] [--workers N]   (HTML/PDF of the executed notebooks again)
  shnor index params/demo.yaml                          (index.html, sidecars, Excel again)
  shnor whatif params/demo.yaml --set low_results_rule.share_failed=25 [--set …] [--methodology DIR] [--name N]

Exit codes: 0 done; 1 some reports failed (the batch itself finished); 2 an error in the input or
the parameters (one Russian line; also another batch holding the output folder); 3 an unexpected
error (one Russian line, details in a log file it names); 130 Ctrl+C; 143 SIGTERM.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import os
import signal
import sys
import tempfile
import traceback
from pathlib import Path

# jsonschema (under nbformat) builds a grammar for its IRI format checks at import when the optional
# rfc3987-syntax package is installed — ≈ 0.9 s at every start of a command, a quarter of a no-change
# run. No schema this process validates (nbformat's) has an IRI format: jsonschema then simply has no
# IRI checker, as without the package. Kernels, JupyterLab and the tests are not affected.
sys.modules.setdefault("rfc3987_syntax", None)

from shnor_utils.analyses import compute_all  # noqa: E402
from shnor_utils.batch.config import load_config
from shnor_utils.batch.prepare import load_data
from shnor_utils.batch.runner import index_batch, render_batch, run_batch
from shnor_utils.data.dataset import load_dataset
from shnor_utils.data.formats.writers import write_real_files
from shnor_utils.data.ingest import ingest
from shnor_utils.demo import generate
from shnor_utils.errors import ShnorError
from shnor_utils.indicators import write_indicators
from shnor_utils.indicators.compute import check_export_path
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
                    max_mb=args.max_file_mb, wave=args.wave, year=args.year, grade=args.grade, strict=args.strict,
                    crosswalk_file=args.crosswalk)
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
    check_export_path(args.out)   # a wrong file type is said before the dataset is loaded
    meth = load_methodology()
    ds = load_dataset(args.dataset, methodology=meth)
    frame = suppress(compute_all(ds, meth), meth)   # privacy: the export shows no small groups
    write_indicators(frame, args.out)
    print(f"Показателей: {len(frame)}; записано в {args.out}")
    return 0


def _run(args) -> int:
    return run_batch(args.params, workers=args.workers, only_scope=args.scope, limit=args.limit, force=args.force,
                     dry_run=args.dry_run, retry_failed=args.retry_failed, scheduler=args.scheduler,
                     pdf=True if args.pdf else None, isolation=args.isolation, docx=args.docx)


def _render(args) -> int:
    return render_batch(args.params, pdf=args.pdf, workers=args.workers, docx=args.docx)


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
    g.add_argument("files", nargs="+", metavar="FILE_OR_FOLDER",
                   help="книги .xlsx/.xls в любом порядке или папки (обходятся со всеми вложенными)")
    g.add_argument("--out", required=True, metavar="DATASET", help="папка набора данных (заменяется целиком)")
    g.add_argument("--schools", default=None, metavar="CSV",
                   help="справочник школ: school_id, settlement, school_type, … (и rcoi_code — код ОО в РЦОИ)")
    g.add_argument("--secret-file", default=None, metavar="FILE",
                   help="секрет для псевдонимизации участников ГИА (иначе переменная SHNOR_SECRET)")
    g.add_argument("--crosswalk", default=None, metavar="CSV",
                   help="соответствие логинов школ разных лет: old_id,new_id[,comment] (справочник школ)")
    g.add_argument("--max-file-mb", type=float, default=None, metavar="MB",
                   help="предел размера одного файла (по умолчанию 30 МБ или SHNOR_MAX_FILE_MB)")
    g.add_argument("--wave", choices=["весна", "осень"], default=None,
                   help="волна ВПР для всех файлов (по умолчанию весна; ВПР 2020 — осень, см. ingest.yaml)")
    g.add_argument("--year", type=int, default=None, help="год для всех файлов (важнее содержимого, имени и папок)")
    g.add_argument("--grade", type=int, default=None, help="класс для всех файлов (важнее содержимого, имени и папок)")
    g.add_argument("--strict", action="store_true",
                   help="всё или ничего: при любой строке в карантине или отклонённом файле набор не записывается")
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
    r.add_argument("--docx", action="store_true", help="также документ Word каждого отчёта (A4, таблицы Word, рисунки)")
    r.add_argument("--isolation", choices=["warm", "fresh"], default=None,
                   help="warm — тёплое ядро на поток (быстро), fresh — новое ядро на отчёт (Papermill)")
    r.add_argument("--scheduler", default=None, help="адрес планировщика Dask (tcp://HOST:PORT) для распределённого запуска")
    r.set_defaults(fn=_run)
    h = sub.add_parser("render", help="пересоздать HTML (и PDF) выполненных отчётов пакета, не выполняя их")
    h.add_argument("params")
    h.add_argument("--pdf", action="store_true", help="также PDF каждого отчёта (A4)")
    h.add_argument("--docx", action="store_true", help="также документ Word каждого отчёта")
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


EXIT_INPUT, EXIT_UNEXPECTED, EXIT_INTERRUPTED, EXIT_TERMINATED = 2, 3, 130, 143


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl+C: every `finally` and interrupt handler runs (kernels stopped,
    temporary files removed); atomic writes leave no half-written file."""


def _on_sigterm(signum, frame):
    raise Terminated()


def crash_log_dir() -> Path:
    """Where unexpected errors are described: $SHNOR_LOG_DIR, else <tmp>/shnor-logs-<uid>."""
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    return Path(os.environ.get("SHNOR_LOG_DIR") or Path(tempfile.gettempdir()) / f"shnor-logs-{uid}")


def write_crash_log(exc: BaseException, argv) -> Path | None:
    """The traceback of an unexpected error in a private log file (it may quote data); None when
    even that cannot be written (a full disk)."""
    try:
        folder = crash_log_dir()
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = folder / f"shnor-{_dt.datetime.now():%Y%m%d-%H%M%S}-{os.getpid()}.log"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(f"shnor {' '.join(map(str, argv))}\n{_dt.datetime.now().isoformat(timespec='seconds')}\n\n")
            fh.write("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
        return path
    except Exception:
        return None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    previous = None
    try:
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:   # not the main thread: SIGTERM keeps its default
        pass
    try:
        return args.fn(args)
    except ShnorError as exc:
        print(f"Ошибка: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except Terminated:
        print("Остановлено сигналом SIGTERM: готовые отчёты сохранены, незавершённые не записаны; "
              "продолжить — та же команда ещё раз.", file=sys.stderr)
        return EXIT_TERMINATED
    except KeyboardInterrupt:
        print("Прервано.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:   # no command ends in a traceback: one line, the details in a log
        log = write_crash_log(exc, sys.argv[1:] if argv is None else argv)
        where = f"подробности в файле {log}" if log else "подробности записать не удалось"
        print(f"Непредвиденная ошибка ({type(exc).__name__}: {' '.join(str(exc).split())[:300]}); {where}. "
              "Сообщите о ней разработчикам, приложив этот файл.", file=sys.stderr)
        return EXIT_UNEXPECTED
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
