"""Check an Office file's container before a parser sees it, so every refusal says what to do.

A ``.docx``/``.xlsx``/``.pptx`` is a zip (Office Open XML). What else turns up under those names:

* an OLE compound file (magic ``D0 CF 11 E0 A1 B1 1A E1``): either a password-protected document
  (Office encrypts OOXML into an OLE container with ``EncryptionInfo``/``EncryptedPackage``
  streams) or an old binary ``.doc``/``.xls``/``.ppt`` renamed;
* a damaged zip, or another zip renamed (no ``word/document.xml`` inside);
* an empty file.

Old binary files named as such (``.doc``, ``.xls``, ``.ppt``) are refused with the same advice:
ragkit reads them only once saved in the current format.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

from ragkit.errors import LoadError

OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
_ENCRYPTED_MARK = "EncryptedPackage".encode("utf-16-le")

# suffix -> (what it is, the application, the part every such file holds)
OOXML = {
    ".docx": ("Word document", "Word", "word/document.xml"),
    ".xlsx": ("Excel workbook", "Excel", "xl/workbook.xml"),
    ".xlsm": ("Excel workbook", "Excel", "xl/workbook.xml"),
    ".pptx": ("PowerPoint presentation", "PowerPoint", "ppt/presentation.xml"),
}
LEGACY = {".doc": ".docx", ".xls": ".xlsx", ".ppt": ".pptx"}
_APP = {".doc": "Word", ".xls": "Excel", ".ppt": "PowerPoint"}


def legacy_reason(path: Path) -> str:
    """Why an old binary Office file is refused, and what to do."""
    suffix = path.suffix.lower()
    return (f"old binary Office format ({suffix}) is not supported: open it in {_APP[suffix]} "
            f"and save as {LEGACY[suffix]}")


def check_ooxml(path: Path) -> None:
    """Raise LoadError with advice unless ``path`` looks like the zip its suffix promises."""
    source, suffix = str(path), path.suffix.lower()
    what, app, part = OOXML[suffix]
    with open(path, "rb") as fh:
        head = fh.read(8)
        if not head:
            raise LoadError(source, "empty file")
        if head == OLE_MAGIC:
            body = head + fh.read(1 << 20)
            if _ENCRYPTED_MARK in body:
                raise LoadError(source, f"password-protected {what}: remove the password in {app} "
                                        f"(File > Info > Protect) and save again")
            raise LoadError(source, f"old binary Office file named {suffix}: open it in {app} "
                                    f"and save as {suffix}")
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
    except zipfile.BadZipFile:
        raise LoadError(source, f"damaged {what} (not a valid zip container): open it in {app} "
                                f"and save it again") from None
    if part not in names:
        article = "an" if what[0] in "AEIOU" else "a"
        raise LoadError(source, f"not {article} {what} (a zip without {part}; another file renamed "
                                f"{suffix}?)")


def damaged_reason(path: Path, exc: Exception) -> str:
    """A parser failed inside a well-formed zip: name the error and the way out."""
    what, app, _ = OOXML[path.suffix.lower()]
    return f"damaged {what} ({type(exc).__name__}: {exc}): open it in {app} and save it again"
