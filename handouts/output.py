"""Where leaflets are written, and writing them safely.

Names are stable and carry no dates: `<out>/<clinic>/<lang>/<treatment>-<style>-<paper>.pdf`,
with `-print` before `.pdf` for a print-shop copy (bleed or crop marks). Nothing about
a patient ever goes into a name.

- A file is written to a hidden temporary name in the same folder
  (`.<name>.<8 random characters>.part`) and then renamed, so a failed or interrupted
  build never leaves half a PDF at a leaflet's name. Such temporary files left by a run
  that was killed outright are removed by the next build that writes to that folder,
  when no other build is writing there (builds hold a shared lock on each folder they
  write to; the clean-up needs it exclusively).
- A folder or file that cannot be written (a read-only disk or share, no permission, a
  full disk, a file size limit) stops the build with a message in plain words: which
  file or folder, why, and what to do (`cannot_write`). Leaflets written before it are
  complete, and the clinic's record is put back as it was.
- Each clinic's output folder (`<out>/<clinic>/`) holds a small record,
  `.handouts-clinic.json`, naming the clinic folder its leaflets belong to and the
  SHA-256 of each leaflet handouts wrote there. Another clinic whose folder has the
  same name is refused rather than allowed to replace those leaflets.
- A file that handouts did not make is never overwritten. Handouts' own files are
  recognised by their recorded SHA-256 or by the "handouts" creator in their metadata,
  so a clinic template that leaves out the generator meta does not lock a clinic out of
  its own leaflets.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import stat
import tempfile
import time
import zlib
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from .errors import UserError, unusable_name
from .paths import clinics_dir

try:
    import fcntl
except ImportError:  # not on Debian; locking is then skipped (see _lock)
    fcntl = None

MARKER = b"/Creator (handouts "  # written into every PDF's metadata by the built-in templates
_STREAM = re.compile(rb"stream\r?\n")

RECORD = ".handouts-clinic.json"  # in <out>/<clinic>/: whose leaflets these are
_RECORD_ABOUT = (
    "Written by handouts. It says which clinic folder the leaflets in this folder belong "
    "to, so that another clinic whose folder has the same name cannot replace them, and "
    "holds a fingerprint (SHA-256) of each leaflet handouts wrote here, so handouts "
    "replaces only its own files. Leave it in place."
)
# The temporary names tempfile.mkstemp gives in _replace: "." + final name + "." +
# 8 characters from [a-z0-9_] + ".part". Only these are ever removed as leftovers.
_RANDOM = r"[a-z0-9_]{8}"
_PDF_PART = re.compile(rf"\.[^/]+\.pdf\.{_RANDOM}\.part")
_RECORD_PART = re.compile(rf"\.{re.escape(RECORD)}\.{_RANDOM}\.part")
# Where a folder cannot be locked (some network shares), leftovers this old are
# certainly not being written by a build that is still running.
STALE_AFTER_S = 3600


def output_path(
    out_dir: Path,
    clinic: str,
    lang: str,
    treatment: str,
    style: str,
    paper: str,
    for_print_shop: bool = False,
) -> Path:
    suffix = "-print" if for_print_shop else ""
    return out_dir / clinic / lang / f"{treatment}-{style}-{paper}{suffix}.pdf"


def _clinic_output(path: Path) -> Path:
    """`<out>/<clinic>/` for a leaflet at `<out>/<clinic>/<lang>/<name>.pdf`."""
    return path.parent.parent


def _record_key(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def made_by_handouts(path: Path) -> bool:
    """True for a PDF handouts wrote: its SHA-256 is in the clinic output folder's record,
    or its metadata names handouts as its creator."""
    try:
        data = path.read_bytes()
    except OSError:
        return False
    if not data.startswith(b"%PDF-"):
        return False
    record = _read_record(_clinic_output(path) / RECORD, quiet=True)
    if record and record["leaflets"].get(_record_key(path)) == _sha256(data):
        return True
    if MARKER in data:
        return True
    # The metadata usually sits in a compressed object stream.
    for match in _STREAM.finditer(data):
        try:
            if MARKER in zlib.decompressobj().decompress(data[match.end() : match.end() + 65536]):
                return True
        except zlib.error:
            continue
    return False


def _usable_name(path: Path, option: str) -> None:
    """Refuse a path the computer cannot use as a name at all (too long, a NUL in it)."""
    try:
        path.exists()
    except (OSError, ValueError) as exc:
        shown, reason = unusable_name(path, exc)
        raise UserError(
            f"{option}: {shown} cannot be used as a file or folder name ({reason}). "
            "Choose a shorter, plain name."
        ) from None


def check_writable(path: Path) -> None:
    """Refuse to replace a file that handouts did not make."""
    _usable_name(path, "--out")
    if path.is_dir():
        raise UserError(f"{path} is a folder; cannot write a leaflet there.")
    if path.exists() and not made_by_handouts(path):
        raise UserError(
            f"{path} already exists and was not made by handouts, so it was left alone. "
            "Move it away or choose another folder with --out."
        )


def write_text_safely(path: Path, text: str, marker: str, option: str = "--output") -> None:
    """Write a generated text file; replace an existing file only if it carries `marker`."""
    _usable_name(path, option)
    if path.is_dir():
        raise UserError(f"{option}: {path} is a folder; give the name of a file to write.")
    if path.exists() and marker not in path.read_text(encoding="utf-8", errors="replace"):
        raise UserError(
            f"{path} already exists and was not made by handouts, so it was left alone. "
            "Choose another file name."
        )
    _replace(path, text.encode("utf-8"), elsewhere="choose another file to write to")


def update_file(path: Path, data: bytes) -> None:
    """Replace a file the user asked handouts to change (a translation being imported):
    written whole or not at all, so that no failure leaves it half-written."""
    _usable_name(path, "the file")
    _replace(path, data, elsewhere="check the folder's permissions and free space")


def write_atomic(path: Path, data: bytes) -> None:
    """Write one file on its own (no clinic record); see OutputFolders for leaflets."""
    check_writable(path)
    _replace(path, data)


# What to do when an output folder cannot be written: said in every such message.
_ELSEWHERE = "choose another output folder with --out"


def _nearest_existing(folder: Path) -> Path:
    for candidate in (folder, *folder.parents):
        if candidate.is_dir():
            return candidate
    return folder


def cannot_write(
    target: Path,
    exc: OSError,
    is_folder: bool = False,
    elsewhere: str = _ELSEWHERE,
    what: str | None = None,
) -> UserError:
    """A plain message for a file (or a folder being created) that could not be written:
    which one, why in everyday words, and what to do. Never the exception itself."""
    where = _nearest_existing(target if is_folder else target.parent)
    what = what or (f"the folder {target}" if is_folder else str(target))
    code = exc.errno
    if code == errno.EROFS:
        why = f"{where} is on a disk or share that can only be read, not written"
        todo = f"{elsewhere[0].upper()}{elsewhere[1:]}, or have {where} made writable."
    elif code in (errno.EACCES, errno.EPERM):
        why = f"you do not have permission to write in {where}"
        todo = (
            f"{elsewhere[0].upper()}{elsewhere[1:]}, or ask whoever looks after {where} "
            "to let you write there."
        )
    elif code == errno.ENOSPC:
        why = f"the disk is full (no space left on the disk that holds {where})"
        todo = f"Free some space on that disk, or {elsewhere}, then try again."
    elif code == getattr(errno, "EDQUOT", None):
        why = f"your share of the disk that holds {where} is used up (disk quota exceeded)"
        todo = f"Free some of your space on that disk, or {elsewhere}, then try again."
    elif code == errno.EFBIG:
        why = (
            "it is larger than the largest file this computer lets handouts write "
            "(a file size limit is set)"
        )
        todo = "Ask whoever looks after this computer to raise or remove the limit."
    elif code in (errno.EEXIST, errno.ENOTDIR) and is_folder:
        why = f"there is a file, not a folder, at {target} or on the way to it"
        todo = f"Move that file away, or {elsewhere}."
    elif code == errno.ENAMETOOLONG:
        why = "its name, with the folders it is in, is longer than this disk allows"
        todo = f"{elsewhere[0].upper()}{elsewhere[1:]} with a shorter path."
    else:
        reason = (exc.strerror or "the system refused").rstrip(".")
        why = f"{reason[0].lower()}{reason[1:]} (while writing in {where})"
        todo = (
            f"Check that {where} is a folder you can write to and that its disk is "
            f"working, or {elsewhere}."
        )
    verb = "create" if is_folder else "write"
    left = "" if is_folder else " Nothing half-written was left behind."
    return UserError(f"Cannot {verb} {what}: {why}. {todo}{left}")


def _replace(path: Path, data: bytes, elsewhere: str = _ELSEWHERE, what: str | None = None) -> None:
    """Write `data` to `path` atomically: to a temporary file in the same folder, synced,
    then renamed over `path`. On any failure the temporary file is removed and `path` is
    as it was; an OSError becomes a plain message naming `what` (default: `path`)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise cannot_write(path.parent, exc, True, elsewhere) from None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    except OSError as exc:
        raise cannot_write(path, exc, False, elsewhere, what) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise cannot_write(path, exc, False, elsewhere, what) from None
        raise


# --------------------------------------------------------------------------- owners


@dataclass(frozen=True)
class Owner:
    """The clinic a build writes for, as recorded in its output folder."""

    folder: Path  # the clinic folder itself (resolved)
    name: str | None  # the clinic's name as printed on its leaflets
    built_in: str | None = None  # the name of a clinic that comes with handouts

    @classmethod
    def of(cls, folder: Path, name: str | None) -> Owner:
        folder = Path(folder).resolve()
        bundled = clinics_dir().resolve()
        built_in = folder.name if folder.parent == bundled else None
        return cls(folder, name, built_in)

    @property
    def key(self) -> str:
        return f"built-in:{self.built_in}" if self.built_in else str(self.folder)

    def describe(self) -> str:
        if self.built_in:
            return f"the clinic '{self.built_in}' that comes with handouts"
        named = f"'{self.name}'" if self.name else "the clinic"
        return f"{named} (clinic folder {self.folder})"

    def to_json(self) -> dict:
        if self.built_in:
            return {"built_in": self.built_in, "name": self.name}
        return {"folder": str(self.folder), "name": self.name}

    @classmethod
    def from_json(cls, data) -> Owner | None:
        if not isinstance(data, dict):
            return None
        name = data.get("name")
        if name is not None and not isinstance(name, str):
            return None
        built_in, folder = data.get("built_in"), data.get("folder")
        if isinstance(built_in, str) and built_in:
            return cls(clinics_dir().resolve() / built_in, name, built_in)
        if isinstance(folder, str) and os.path.isabs(folder):
            return cls(Path(folder), name)
        return None


def _read_record(path: Path, quiet: bool = False) -> dict | None:
    """The record in a clinic output folder: {"owner": Owner, "leaflets": {key: sha256}}.
    None when there is none; a damaged record is an error (or None when `quiet`)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        if quiet:
            return None
        raise UserError(f"Cannot read {path}: {exc.strerror}.") from None
    try:
        data = json.loads(raw.decode("utf-8"))
        owner = Owner.from_json(data.get("clinic"))
        leaflets = data.get("leaflets", {})
        valid = owner is not None and isinstance(leaflets, dict)
        valid = valid and all(isinstance(v, str) for v in leaflets.values())
    except (ValueError, AttributeError):
        valid = False
    if not valid:
        if quiet:
            return None
        raise UserError(
            f"{path} is damaged. handouts keeps it to know which clinic the leaflets in "
            f"{path.parent} belong to. If only one clinic writes to that folder, delete the "
            "file and build again (then move away any leaflet handouts says it did not make)."
        )
    return {"owner": owner, "leaflets": dict(leaflets)}


def _write_record(
    path: Path, owner: Owner, leaflets: dict[str, str], what: str | None = None
) -> None:
    """Write the record; a failure is reported as failing to write `what` (the leaflet
    being written, which is what the person running handouts asked for)."""
    data = {
        "about": _RECORD_ABOUT,
        "clinic": owner.to_json(),
        "leaflets": dict(sorted(leaflets.items())),
    }
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    _replace(path, text.encode("utf-8"), what=what)


def _same_clinic(recorded: Owner, owner: Owner) -> bool:
    if recorded.key == owner.key:
        return True
    # A clinic folder that was moved or renamed: the recorded folder is gone, and the
    # clinic's name is the same, so these are its own leaflets.
    moved = not owner.built_in and not recorded.built_in
    return (
        moved
        and recorded.name is not None
        and recorded.name == owner.name
        and not (recorded.folder / "clinic.yaml").is_file()
    )


def _refuse_other_clinic(folder: Path, recorded: Owner, owner: Owner) -> UserError:
    hint = ""
    if not recorded.built_in and not recorded.folder.exists():
        hint = (
            f" If {recorded.folder} was moved to {owner.folder}, delete "
            f"{folder / RECORD} and build again."
        )
    return UserError(
        f"{folder} holds the leaflets of {recorded.describe()}, not of {owner.describe()}. "
        f"The two clinic folders have the same name ('{folder.name}'), so this build would "
        "replace the other clinic's leaflets with yours. Choose another output folder with "
        f"--out, or rename one of the two clinic folders.{hint}"
    )


# --------------------------------------------------------------------------- locks


class _Busy(Exception):
    """Another build holds the lock."""


def _lock(stack: ExitStack, folder: Path, exclusive: bool, wait: bool = True) -> bool:
    """Lock a folder (flock on the folder itself, so no lock file is left behind) until
    `stack` closes. False where locks are not supported; raises _Busy when `wait` is
    False and another build holds it."""
    if fcntl is None:
        return False
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return False
    stack.callback(os.close, fd)
    flags = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | (0 if wait else fcntl.LOCK_NB)
    try:
        fcntl.flock(fd, flags)
    except BlockingIOError:
        raise _Busy from None
    except OSError:
        return False  # e.g. a network share without locks
    stack.callback(fcntl.flock, fd, fcntl.LOCK_UN)
    return True


def remove_leftovers(folder: Path, pattern: re.Pattern[str], older_than_s: float = 0) -> list[Path]:
    """Remove handouts' own temporary files (names matching `pattern`) from `folder`;
    only regular files, only those last changed more than `older_than_s` seconds ago."""
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        if not pattern.fullmatch(entry.name):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(info.st_mode) or now - info.st_mtime < older_than_s:
                continue
            os.unlink(entry.path)
        except OSError:
            continue
        removed.append(Path(entry.path))
    return removed


def _clean(folder: Path, pattern: re.Pattern[str], forget_missing: bool = False) -> None:
    """Remove leftovers of earlier runs while holding `folder` exclusively (or, where it
    cannot be locked, only old ones); when another build is writing there, leave them.
    With `forget_missing` (a language folder), also drop from the clinic's record the
    fingerprints of leaflets that are no longer there."""
    with ExitStack() as cleaning:
        try:
            locked = _lock(cleaning, folder, exclusive=True, wait=False)
        except _Busy:
            return
        remove_leftovers(folder, pattern, older_than_s=0 if locked else STALE_AFTER_S)
        if locked and forget_missing:
            _forget_missing(folder)


def _forget_missing(lang_folder: Path) -> None:
    """Drop the fingerprints of this folder's leaflets that were deleted or moved away:
    the record keeps nothing about a leaflet that is gone (it may have been a patient's)."""
    clinic_output = lang_folder.parent
    with ExitStack() as recording:
        _lock(recording, clinic_output, exclusive=True)
        record = _read_record(clinic_output / RECORD, quiet=True)
        if not record:
            return
        prefix = f"{lang_folder.name}/"
        leaflets = {
            key: digest
            for key, digest in record["leaflets"].items()
            if not key.startswith(prefix) or (clinic_output / key).is_file()
        }
        if leaflets != record["leaflets"]:
            _write_record(clinic_output / RECORD, record["owner"], leaflets)


# --------------------------------------------------------------------------- writing


def _restore_record(folder: Path, record: dict | None, path: Path, digest: str) -> None:
    """After a leaflet could not be written (disk full, file too large, interrupted), put
    the record back as it was, so that it names only leaflets that are there: otherwise
    the earlier leaflet at that name, when its template leaves out the generator meta,
    would no longer be recognised as handouts' own and the next build would refuse to
    replace it. Best effort: the build is failing already, with its own message."""
    try:
        if _sha256(path.read_bytes()) == digest:
            return  # the new leaflet did get into place (interrupted just after)
    except OSError:
        pass
    try:
        if record is None:
            (folder / RECORD).unlink(missing_ok=True)
        else:
            _write_record(folder / RECORD, record["owner"], record["leaflets"])
    except (OSError, UserError):
        pass


class OutputFolders:
    """The output folders of one build. `claim` every leaflet's path before rendering
    anything (it refuses a folder that belongs to another clinic, or one inside the
    clinic folder); `write` then writes each leaflet, recording its SHA-256. Use as a
    context manager: the folder locks are held until it closes."""

    def __init__(self) -> None:
        self._owners: dict[Path, Owner] = {}  # <out>/<clinic> -> its clinic
        self._opened: set[Path] = set()  # folders locked and cleaned by this build
        self._stack = ExitStack()

    def __enter__(self) -> OutputFolders:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        self._stack.close()

    def claim(self, path: Path, owner: Owner) -> None:
        """Check, before anything is written, that `owner` may write the leaflet `path`."""
        folder = _clinic_output(path)
        where = folder.resolve()
        if where.is_relative_to(owner.folder):
            parent = owner.folder.parent / "output"
            raise UserError(
                "Leaflets are not written inside a clinic folder (they would travel with "
                f"it whenever it is copied or shared): the output folder {where} is inside "
                f"the clinic folder {owner.folder}. Run handouts from outside the clinic "
                f"folder, or choose another output folder, for example --out {parent}"
            )
        for above in (path.parent, *path.parent.parents):
            if above.exists() and not above.is_dir():
                raise UserError(
                    f"{above} is a file, not a folder, so no leaflet can be written in it. "
                    "Choose another output folder with --out, or move that file away."
                )
            if above.is_dir():
                break
        earlier = self._owners.get(where)
        if earlier is not None and earlier.key != owner.key:
            raise _refuse_other_clinic(folder, earlier, owner)
        self._owners[where] = owner
        record = _read_record(folder / RECORD)
        if record and not _same_clinic(record["owner"], owner):
            raise _refuse_other_clinic(folder, record["owner"], owner)
        check_writable(path)

    def write(self, path: Path, data: bytes) -> None:
        """Write one claimed leaflet: record its SHA-256, then put it in place atomically."""
        folder = _clinic_output(path)
        owner = self._owners.get(folder.resolve())
        if owner is None:
            raise ValueError(f"{path} was not claimed before writing")  # a bug in handouts
        self._open(folder, _RECORD_PART)
        self._open(path.parent, _PDF_PART)
        check_writable(path)
        with ExitStack() as recording:
            _lock(recording, folder, exclusive=True)
            record = _read_record(folder / RECORD)
            if record and not _same_clinic(record["owner"], owner):
                raise _refuse_other_clinic(folder, record["owner"], owner)
            leaflets = dict(record["leaflets"]) if record else {}
            key = _record_key(path)
            digest = _sha256(data)
            changed = leaflets.get(key) != digest or not record or record["owner"] != owner
            if changed:
                leaflets[key] = digest
                _write_record(folder / RECORD, owner, leaflets, what=str(path))
            # Recorded first: if the build is killed now, the record names a file that
            # was never finished, which is harmless; the other way round would leave a
            # leaflet handouts could not recognise as its own. Both under the lock, so
            # two builds writing the same leaflet at once leave the record matching it.
            try:
                _replace(path, data)
            except BaseException:
                if changed:
                    _restore_record(folder, record, path, digest)
                raise

    def _open(self, folder: Path, leftovers: re.Pattern[str]) -> None:
        """First write into `folder` in this build: create it, remove leftovers of earlier
        runs, and hold a shared lock so other builds leave this build's files alone."""
        if folder in self._opened:
            return
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise cannot_write(folder, exc, is_folder=True) from None
        is_language_folder = leftovers is _PDF_PART
        _clean(folder, leftovers, forget_missing=is_language_folder)
        if is_language_folder:
            _lock(self._stack, folder, exclusive=False)
        self._opened.add(folder)
