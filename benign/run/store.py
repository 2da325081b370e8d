"""A resumable on-disk store for sweeps: a directory of finished chunks plus a consolidated file.

Layout of a results directory ``out/``::

    out/manifest.json          what the sweep is (grid and its axis order, seeds, fixed arguments,
                               version) + fingerprint
    out/chunks/chunk-*.npz     one file per finished chunk: flat run indices and their numbers
    out/chunks/quarantine/     chunks (or a results file) found unreadable or inconsistent, moved
                               aside and recomputed
    out/results.nc             the consolidated ``xarray.Dataset`` (netCDF4: h5netcdf or netCDF4-python)
    out/.lock, .lock.owner     the exclusive lock of the process writing the directory, and who holds it

Only one process writes a results directory at a time: :func:`open_store` takes an exclusive lock
(``filelock``) on ``out/.lock`` and records its pid, host and start time in ``out/.lock.owner``;
a second process gets a :class:`StoreError` naming the holder. Every file is written to a temporary
name ``.tmp-<host tag>-<pid>-<random>`` in the same directory and moved into place with
``os.replace``, so a process killed at any moment (even ``kill -9``) leaves only whole files behind.
Leftover temporaries are removed by the next lock holder only when their writer is provably gone (a
dead pid on this host) or they predate the lock; a temporary of a live process is never removed.

A directory whose manifest describes another sweep (grid, axis order, seeds, fixed arguments,
theory, trajectories or package version differ), a manifest that cannot be read, or a non-empty
directory without a manifest raises :class:`StoreError` and is never overwritten. A chunk that
cannot be read, belongs to another sweep, has inconsistent lengths or repeats runs of another chunk
is moved to ``chunks/quarantine/`` with a :class:`StoreWarning` naming it, and its runs are
recomputed; an unreadable ``results.nc`` is moved there too and rebuilt from the chunks.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
import secrets
import socket
import time
import warnings
import zipfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

#: Version of the on-disk layout (part of the fingerprint).
FORMAT = "benign-sweep/2"
MANIFEST = "manifest.json"
RESULTS = "results.nc"
CHUNKS = "chunks"
QUARANTINE = "quarantine"
LOCK = ".lock"
LOCK_OWNER = ".lock.owner"
_TMP_PREFIX = ".tmp-"
_TMP_RE = re.compile(r"^\.tmp-([0-9a-f]{8})-(\d+)-")
#: Files of a results directory's own machinery (not results): ignored by the "not empty" check.
_MACHINERY = (CHUNKS, LOCK, LOCK_OWNER)


class StoreError(ValueError):
    """A results directory or file is corrupted, belongs to another sweep, or is locked by another process."""


class StoreWarning(UserWarning):
    """A damaged chunk or results file was moved to ``chunks/quarantine/`` and will be recomputed."""


def _jsonable(v: Any) -> Any:
    """Plain JSON types for numpy scalars, arrays and tuples (recursively)."""
    if isinstance(v, Mapping):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, np.ndarray)):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    return v


def netcdf_engine() -> str:
    """The xarray netCDF engine to use: ``h5netcdf`` if h5py is importable, else ``netcdf4``."""
    import importlib.util

    if importlib.util.find_spec("h5py") is not None and importlib.util.find_spec("h5netcdf") is not None:
        return "h5netcdf"
    if importlib.util.find_spec("netCDF4") is not None:
        return "netcdf4"
    raise ImportError("writing results needs h5netcdf (with h5py) or netCDF4: pip install h5netcdf")


def save_netcdf(ds, path: str | os.PathLike) -> None:
    """Write ``ds`` as netCDF4 with gzip level 4 on its numeric data variables (deterministic bytes)."""
    engine = netcdf_engine()
    opts = {"zlib": True, "complevel": 4} if engine == "netcdf4" else {"compression": "gzip", "compression_opts": 4}
    enc = {v: dict(opts) for v in ds.data_vars if ds[v].dtype.kind in "biuf" and ds[v].ndim > 0}
    ds.to_netcdf(path, engine=engine, encoding=enc)


def fingerprint(spec: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of ``spec`` (keys sorted, numpy values made plain).

    Mapping keys are sorted, so a spec must carry any order that matters as a list (a sweep's
    ``dims``)."""
    text = json.dumps(_jsonable(spec), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _host_tag(host: str | None = None) -> str:
    """8 hex digits identifying a host in temporary file names."""
    return hashlib.sha256((host or socket.gethostname()).encode()).hexdigest()[:8]


def _tmp_name(suffix: str) -> str:
    return f"{_TMP_PREFIX}{_host_tag()}-{os.getpid()}-{secrets.token_hex(6)}{suffix}"


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (a process of another user counts as alive)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return True
    return True


def atomic_write(path: Path, write: Callable[[str], object]) -> None:
    """Call ``write(tmp_path)`` then move ``tmp_path`` onto ``path`` atomically (same directory).

    The temporary is created with mode ``0o666`` filtered by the process umask (as ``open`` would),
    named after this host and pid so that other processes can tell whether its writer is alive.
    """
    path = Path(path)
    tmp = str(path.parent / _tmp_name(path.suffix))
    fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _lock_owner_text(root: Path) -> str:
    """Who holds the lock of ``root``, as recorded in its companion file (best effort)."""
    try:
        info = json.loads((root / LOCK_OWNER).read_text())
        return f"pid {info['pid']} on host {info['host']!r} (since {info['since']})"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process (its pid and host are not recorded yet)"


class Store:
    """A results directory bound to one sweep ``spec`` (see :func:`open_store`).

    It holds the directory's exclusive lock from :func:`open_store` until :meth:`close` (also a
    context manager). ``quarantined`` lists what was moved to ``chunks/quarantine/`` (dicts with
    ``path``, ``moved_to``, ``reason`` and ``runs``, the flat run indices it covered, if known).
    """

    def __init__(self, root: Path, spec: Mapping[str, Any]):
        self.root = Path(root)
        self.spec = _jsonable(dict(spec))
        self.fingerprint = fingerprint(self.spec)
        self.quarantined: list[dict[str, Any]] = []
        self._lock = None
        self._locked_at: float | None = None
        self._owner_token = ""

    @property
    def results_path(self) -> Path:
        return self.root / RESULTS

    @property
    def chunk_dir(self) -> Path:
        return self.root / CHUNKS

    @property
    def quarantine_dir(self) -> Path:
        return self.chunk_dir / QUARANTINE

    # ------------------------------------------------------------------ lock
    def _acquire(self) -> None:
        """Take the directory's exclusive lock (no waiting) and record this process as its owner."""
        from filelock import FileLock, Timeout

        lock = FileLock(str(self.root / LOCK), timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise StoreError(f"{self.root} is in use: {_lock_owner_text(self.root)} holds its lock {self.root / LOCK}; "
                             "wait for that sweep to finish (or stop it), or choose another --out") from None
        self._lock, self._locked_at = lock, time.time()
        self._owner_token = secrets.token_hex(8)
        text = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "token": self._owner_token,
                           "since": datetime.datetime.now().astimezone().isoformat(timespec="seconds")})
        try:
            atomic_write(self.root / LOCK_OWNER, lambda tmp: Path(tmp).write_text(text))
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Release the lock (idempotent); the owner record is removed if it is still this one."""
        if self._lock is None:
            return
        try:
            owner = self.root / LOCK_OWNER
            try:
                if json.loads(owner.read_text()).get("token") == self._owner_token:
                    owner.unlink()
            except (OSError, ValueError, AttributeError):
                pass
        finally:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _remove_stale_temporaries(self) -> list[Path]:
        """Remove temporaries whose writer is provably gone; returns what was removed.

        Called with the lock held. A temporary is removed when it was written on this host by a
        process that no longer exists (or by this process), or when it was last modified before
        this process took the lock (its writer did not hold the lock since). Any other temporary
        (a live process on this host, or one just written elsewhere) is left alone.
        """
        removed = []
        here, me = _host_tag(), os.getpid()
        for d in (self.root, self.chunk_dir):
            for p in d.glob(_TMP_PREFIX + "*"):
                m = _TMP_RE.match(p.name)
                if m and m.group(1) == here:
                    pid = int(m.group(2))
                    stale = pid == me or not _pid_alive(pid)
                else:
                    try:
                        stale = p.stat().st_mtime < (self._locked_at or 0.0) - 1.0
                    except OSError:
                        continue
                if stale:
                    p.unlink(missing_ok=True)
                    removed.append(p)
        return removed

    # ------------------------------------------------------------------ quarantine
    def quarantine(self, path: Path, reason: str, runs: np.ndarray | None = None) -> Path:
        """Move ``path`` into ``chunks/quarantine/`` (never overwriting), warn and record it."""
        self.quarantine_dir.mkdir(parents=True, exist_ok=True)
        dest = self.quarantine_dir / path.name
        k = 1
        while dest.exists():
            dest = self.quarantine_dir / f"{path.name}.{k}"
            k += 1
        os.replace(path, dest)
        info = {"path": str(path), "moved_to": str(dest), "reason": reason,
                "runs": None if runs is None else np.asarray(runs, np.int64).tolist()}
        self.quarantined.append(info)
        what = "its runs are recomputed" if path.name != RESULTS else "it is rebuilt from the chunks"
        warnings.warn(f"{path} {reason}: moved to {dest}; {what}", StoreWarning, stacklevel=3)
        return dest

    # ------------------------------------------------------------------ chunks
    def chunk_files(self) -> list[Path]:
        """Finished chunk files, sorted by name (temporaries and quarantine excluded)."""
        if not self.chunk_dir.is_dir():
            return []
        return sorted(p for p in self.chunk_dir.glob("chunk-*.npz") if p.is_file())

    def write_chunk(self, index: np.ndarray, arrays: Mapping[str, np.ndarray]) -> Path:
        """Save one finished chunk atomically.

        index: (B,) int64 flat run indices; arrays: name -> array with leading axis B.
        Returns the chunk's path ``chunks/chunk-<first index>-<B>.npz``.
        """
        index = np.asarray(index, np.int64)
        for k, v in arrays.items():
            if len(v) != len(index):
                raise ValueError(f"chunk array {k!r} has {len(v)} rows, expected {len(index)}")
        path = self.chunk_dir / f"chunk-{int(index[0]):09d}-{len(index):06d}.npz"
        payload = {"__index__": index, "__fingerprint__": np.array(self.fingerprint)}
        payload.update({f"v_{k}": np.asarray(v) for k, v in arrays.items()})

        def write(tmp: str) -> None:
            with open(tmp, "wb") as fh:
                np.savez(fh, **payload)  # pyright: ignore[reportArgumentType]

        atomic_write(path, write)
        return path

    @staticmethod
    def _runs_from_name(path: Path) -> np.ndarray | None:
        """The runs a chunk file name claims (``chunk-<first>-<B>``: a contiguous guess), or None."""
        m = re.match(r"^chunk-(\d+)-(\d+)\.npz$", path.name)
        return None if m is None else np.arange(int(m.group(1)), int(m.group(1)) + int(m.group(2)))

    def read_chunks(self, n_runs: int) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
        """Yield ``(index, arrays)`` for every good chunk, quarantining the others.

        A chunk that cannot be read, belongs to another sweep, has inconsistent lengths, indices
        outside ``[0, n_runs)`` or runs already yielded from another chunk is moved to
        ``chunks/quarantine/`` (:meth:`quarantine`: a :class:`StoreWarning` names it) and not
        yielded, so its runs count as not done and are recomputed.
        """
        seen = np.zeros(n_runs, bool)
        for path in self.chunk_files():
            try:
                with np.load(path, allow_pickle=False) as z:
                    data = {k: z[k] for k in z.files}
            except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as e:
                self.quarantine(path, f"is corrupted ({type(e).__name__}: {e})")
                continue
            fp = str(data.pop("__fingerprint__", ""))
            index = data.pop("__index__", None)
            if fp != self.fingerprint:
                self.quarantine(path, f"belongs to another sweep (fingerprint {fp[:12]!r} != {self.fingerprint[:12]!r})")
                continue
            if index is None or index.ndim != 1 or index.dtype.kind not in "iu" or any(len(v) != len(index) for v in data.values()):
                self.quarantine(path, "is corrupted (inconsistent run index or lengths)")
                continue
            if len(index) and (index.min() < 0 or index.max() >= n_runs):
                self.quarantine(path, f"is corrupted (run index outside [0, {n_runs}))")
                continue
            if len(np.unique(index)) != len(index) or seen[index].any():
                self.quarantine(path, "repeats runs already stored in another chunk", index)
                continue
            seen[index] = True
            yield index, {k[2:]: v for k, v in data.items() if k.startswith("v_")}

    # ------------------------------------------------------------------ results file
    def write_results(self, ds) -> Path:
        """Write the consolidated dataset to ``results.nc`` atomically (see :func:`save_netcdf`)."""
        atomic_write(self.results_path, lambda tmp: save_netcdf(ds, tmp))
        return self.results_path

    def read_results(self):
        """The consolidated dataset if ``results.nc`` exists and is readable, else None.

        An unreadable ``results.nc`` is quarantined (and so rebuilt from the chunks); one written by
        another sweep raises :class:`StoreError` and is left in place.
        """
        if not self.results_path.exists():
            return None
        try:
            ds = _open(self.results_path)
        except StoreError as e:
            self.quarantine(self.results_path, f"is unreadable ({e.__cause__ or e})")
            return None
        fp = ds.attrs.get("fingerprint")
        if fp != self.fingerprint:
            raise StoreError(f"{self.results_path} belongs to another sweep (fingerprint {str(fp)[:12]!r} != {self.fingerprint[:12]!r}); "
                             "it is not overwritten: choose another --out or delete it")
        return ds


def _describe_diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    return ", ".join(f"{k}: stored {old.get(k)!r} vs requested {new.get(k)!r}"[:300] for k in keys) or "fingerprint"


def _foreign_entries(root: Path) -> list[str]:
    """Names in ``root`` that are not a results directory's machinery (chunks, lock, temporaries)."""
    return sorted(p.name for p in root.iterdir() if p.name not in _MACHINERY and not p.name.startswith(_TMP_PREFIX))


def open_store(out: str | os.PathLike, spec: Mapping[str, Any]) -> Store:
    """Create or reopen the results directory ``out`` for the sweep described by ``spec``, locked.

    The returned :class:`Store` holds the directory's exclusive lock until :meth:`Store.close`;
    if another process holds it, :class:`StoreError` names that process (pid, host, start time).
    A new (or empty) directory gets a manifest. An existing one must hold a manifest for the same
    spec; otherwise :class:`StoreError` explains what differs and nothing is written (a directory
    with foreign files is refused before anything is created in it). Stale temporaries of a
    killed run are removed (see :meth:`Store._remove_stale_temporaries`).
    """
    root = Path(out)
    if str(out) == "":
        raise StoreError("out='' is not a directory name: give a results directory (or out=None to keep results in memory)")
    if root.exists() and not root.is_dir():
        raise StoreError(f"out={str(root)!r} exists and is not a directory; give a directory for the results")
    if root.is_dir() and not (root / MANIFEST).exists() and _foreign_entries(root):
        raise StoreError(f"{root} is not empty and has no {MANIFEST}: not a benign results directory; not overwriting it")
    root.mkdir(parents=True, exist_ok=True)
    store = Store(root, spec)
    store._acquire()
    try:
        _check_or_write_manifest(store)
        store.chunk_dir.mkdir(exist_ok=True)
        store._remove_stale_temporaries()
    except BaseException:
        store.close()
        raise
    return store


def _check_or_write_manifest(store: Store) -> None:
    root = store.root
    manifest = root / MANIFEST
    if manifest.exists():
        try:
            stored = json.loads(manifest.read_text())
            stored_fp = stored["fingerprint"]
            stored_spec = stored["spec"]
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise StoreError(f"{manifest} is corrupted ({e!r}); not overwriting it: choose another --out or delete the directory") from None
        if stored_fp != store.fingerprint or fingerprint(stored_spec) != stored_fp:
            raise StoreError(f"{root} holds results of a different sweep ({_describe_diff(stored_spec, store.spec)}); "
                             "not overwriting it: choose another --out or delete the directory")
    else:
        foreign = _foreign_entries(root)
        if foreign:  # checked again under the lock
            raise StoreError(f"{root} is not empty and has no {MANIFEST}: not a benign results directory; not overwriting it")
        text = json.dumps({"format": FORMAT, "fingerprint": store.fingerprint, "spec": store.spec}, indent=1, sort_keys=True)
        atomic_write(manifest, lambda tmp: Path(tmp).write_text(text))


def _open(p: Path):
    """Load the netCDF file ``p`` into memory (file closed); StoreError (with the cause) if unreadable."""
    import xarray as xr

    try:
        with xr.open_dataset(p, engine=netcdf_engine()) as ds:
            return ds.load()
    except (OSError, ValueError) as e:
        raise StoreError(f"{p} is corrupted or not a netCDF results file ({e})") from e


def load(path: str | os.PathLike):
    """Open sweep results as an ``xarray.Dataset`` (loaded into memory, file closed).

    ``path``: a results directory (its ``results.nc``) or a ``.nc`` file. Raises
    :class:`StoreError` for a missing, unfinished or unreadable file (never modifying it).
    """
    p = Path(path)
    in_dir = p.is_dir()
    if in_dir:
        if not (p / RESULTS).exists():
            what = ("an unfinished sweep: run the same sweep again to finish it (it resumes from the stored chunks)"
                    if (p / MANIFEST).exists() else "not a benign results directory")
            raise StoreError(f"{p} has no {RESULTS}: {what}")
        p = p / RESULTS
    if not p.exists():
        raise StoreError(f"{p} does not exist")
    try:
        return _open(p)
    except StoreError as e:
        hint = ""
        if (p.parent / MANIFEST).exists():
            hint = "; running the same sweep again moves it to chunks/quarantine/ and rebuilds it from the stored chunks"
        raise StoreError(f"{e}{hint}") from None
