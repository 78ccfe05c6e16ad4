"""Pseudonymisation on read: a keyed hash replaces names and document numbers before anything else
sees them (docs/DATA_CONTRACT.md §2, `gia.participant_id`: «псевдоним; никогда не ФИО и не номер
документа»; docs/ingest.md «Персональные данные»).

participant_id = «p» + the first 20 hex digits of HMAC-SHA256(secret, «фамилия|имя|отчество|код ОО»),
names lower-cased with ё→е and single spaces. The secret stays with the user (a file given with
`--secret-file`, or the environment variable SHNOR_SECRET): with the same secret the same pupil
gets the same id in every file and every year, so exams can be joined (the sum of three ЕГЭ
subjects); without it the id cannot be traced back to a name by trying name lists, which a plain
unkeyed hash would allow. Document numbers are never part of the id (they are missing from many
protocols); they are used only to tell apart two namesakes in one school and are then dropped.
"""
from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from shnor_utils.errors import ParameterError

ENV = "SHNOR_SECRET"
MIN_LENGTH = 16


def load_secret(secret_file: str | Path | None = None) -> bytes | None:
    """The secret from `secret_file`, else from $SHNOR_SECRET, else None. Too short a secret is refused."""
    if secret_file:
        path = Path(secret_file)
        if not path.is_file():
            raise ParameterError(f"файл секрета «{path}» не найден")
        secret = path.read_bytes().strip()
        origin = f"файл «{path}»"
    elif os.environ.get(ENV):
        secret = os.environ[ENV].strip().encode("utf-8")
        origin = f"переменная {ENV}"
    else:
        return None
    if len(secret.decode("utf-8", errors="replace")) < MIN_LENGTH:
        raise ParameterError(f"секрет для псевдонимизации слишком короткий ({origin}): нужно не меньше "
                             f"{MIN_LENGTH} символов, например строка из `python -c \"import secrets; print(secrets.token_hex(32))\"`")
    return secret


def normalise_name(value) -> str:
    text = "" if value is None else str(value)
    return " ".join(text.replace("ё", "е").replace("Ё", "Е").lower().split())


def participant_id(secret: bytes, surname, name, patronymic, school_code, extra: str = "") -> str:
    """Pseudonymous id of a pupil: keyed hash of the full name and the school code."""
    message = "|".join([normalise_name(surname), normalise_name(name), normalise_name(patronymic),
                        str(school_code).strip(), extra])
    return "p" + hmac.new(secret, message.encode("utf-8"), hashlib.sha256).hexdigest()[:20]
