"""A resumable on-disk store for sweeps: a directory of finished chunks plus a consolidated file.

Layout of a results directory ``out/``::

    out/manifest.json          what the sweep is (grid, seeds, fixed arguments, version) + fingerprint
    out/chunks/chunk-*.npz     one file per finished chunk: flat run indices and their numbers
    out/results.nc             the consolidated ``xarray.Dataset`` (netCDF4: h5netcdf or netCDF4-python)

Every file is written to a temporary name in the same directory and moved into place with
``os.replace``, so a process killed at any moment (even ``kill -9``) leaves only whole files behind;
leftover temporaries are ignored and removed on the next run. A directory whose manifest describes
another sweep (grid, seeds, fixed arguments, theory, trajectories or package version differ), a
manifest or chunk that cannot be read, or a non-empty directory without a manifest raises
:class:`StoreError` and is never overwritten.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

#: Version of the on-disk layout (part of the fingerprint).
FORMAT = "benign-sweep/1"
MANIFEST = "manifest.json"
RESULTS = "results.nc"
CHUNKS = "chunks"
_TMP_PREFIX = ".tmp-"
_UMASK = os.umask(0o022)
os.umask(_UMASK)


class StoreError(ValueError):
    """A results directory or file is corrupted or belongs to another sweep."""


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
    """SHA-256 (hex) of the canonical JSON of ``spec`` (keys sorted, numpy values made plain)."""
    text = json.dumps(_jsonable(spec), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def atomic_write(path: Path, write) -> None:
    """Call ``write(tmp_path)`` then move ``tmp_path`` onto ``path`` atomically (same directory)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


class Store:
    """A results directory bound to one sweep ``spec`` (see :func:`open_store`)."""

    def __init__(self, root: Path, spec: Mapping[str, Any]):
        self.root = Path(root)
        self.spec = _jsonable(dict(spec))
        self.fingerprint = fingerprint(self.spec)

    @property
    def results_path(self) -> Path:
        return self.root / RESULTS

    @property
    def chunk_dir(self) -> Path:
        return self.root / CHUNKS

    # ------------------------------------------------------------------ chunks
    def chunk_files(self) -> list[Path]:
        """Finished chunk files, sorted by name (temporaries excluded)."""
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
                np.savez(fh, **payload)

        atomic_write(path, write)
        return path

    def read_chunks(self, n_runs: int) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
        """Yield ``(index, arrays)`` for every finished chunk, checking each one.

        Raises :class:`StoreError` for an unreadable chunk, one written by another sweep, indices
        outside ``[0, n_runs)`` or a run present in two chunks.
        """
        seen = np.zeros(n_runs, bool)
        for path in self.chunk_files():
            try:
                with np.load(path, allow_pickle=False) as z:
                    data = {k: z[k] for k in z.files}
            except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as e:
                raise StoreError(f"chunk file {path} is corrupted ({e}); delete it to recompute that chunk") from None
            fp = str(data.pop("__fingerprint__", ""))
            index = data.pop("__index__", None)
            if fp != self.fingerprint:
                raise StoreError(f"chunk file {path} belongs to another sweep (fingerprint {fp[:12]!r} != {self.fingerprint[:12]!r})")
            if index is None or index.ndim != 1 or any(len(v) != len(index) for v in data.values()):
                raise StoreError(f"chunk file {path} is corrupted (inconsistent lengths); delete it to recompute that chunk")
            if len(index) and (index.min() < 0 or index.max() >= n_runs):
                raise StoreError(f"chunk file {path} is corrupted (run index outside [0, {n_runs}))")
            if seen[index].any():
                raise StoreError(f"chunk file {path} repeats runs already stored in another chunk; the directory is corrupted")
            seen[index] = True
            yield index, {k[2:]: v for k, v in data.items() if k.startswith("v_")}

    # ------------------------------------------------------------------ results file
    def write_results(self, ds) -> Path:
        """Write the consolidated dataset to ``results.nc`` atomically (see :func:`save_netcdf`)."""
        atomic_write(self.results_path, lambda tmp: save_netcdf(ds, tmp))
        return self.results_path

    def read_results(self):
        """The consolidated dataset if ``results.nc`` exists (checked against the manifest), else None."""
        if not self.results_path.exists():
            return None
        ds = load(self.results_path)
        fp = ds.attrs.get("fingerprint")
        if fp != self.fingerprint:
            raise StoreError(f"{self.results_path} belongs to another sweep (fingerprint {str(fp)[:12]!r} != {self.fingerprint[:12]!r}); "
                             "it is not overwritten: choose another --out or delete it")
        return ds


def _describe_diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    return ", ".join(f"{k}: stored {old.get(k)!r} vs requested {new.get(k)!r}"[:300] for k in keys) or "fingerprint"


def open_store(out: str | os.PathLike, spec: Mapping[str, Any]) -> Store:
    """Create or reopen the results directory ``out`` for the sweep described by ``spec``.

    A new (or empty) directory gets a manifest. An existing one must hold a manifest for the same
    spec; otherwise :class:`StoreError` explains what differs and nothing is written.
    Stale temporaries from a killed run are removed.
    """
    root = Path(out)
    if root.exists() and not root.is_dir():
        raise StoreError(f"out={str(root)!r} exists and is not a directory; give a directory for the results")
    store = Store(root, spec)
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
        if root.is_dir() and any(p.name != CHUNKS and not p.name.startswith(_TMP_PREFIX) for p in root.iterdir()):
            raise StoreError(f"{root} is not empty and has no {MANIFEST}: not a benign results directory; not overwriting it")
        root.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"format": FORMAT, "fingerprint": store.fingerprint, "spec": store.spec}, indent=1, sort_keys=True)
        atomic_write(manifest, lambda tmp: Path(tmp).write_text(text))
    store.chunk_dir.mkdir(exist_ok=True)
    for d in (root, store.chunk_dir):
        for p in d.glob(_TMP_PREFIX + "*"):
            p.unlink(missing_ok=True)
    return store


def load(path: str | os.PathLike):
    """Open sweep results as an ``xarray.Dataset`` (loaded into memory, file closed).

    ``path``: a results directory (its ``results.nc``) or a ``.nc`` file. Raises
    :class:`StoreError` for a missing, unfinished or unreadable file.
    """
    import xarray as xr

    p = Path(path)
    if p.is_dir():
        if not (p / RESULTS).exists():
            what = "an unfinished sweep (run the same command again to finish it)" if (p / MANIFEST).exists() else "not a benign results directory"
            raise StoreError(f"{p} has no {RESULTS}: {what}")
        p = p / RESULTS
    if not p.exists():
        raise StoreError(f"{p} does not exist")
    try:
        with xr.open_dataset(p, engine=netcdf_engine()) as ds:
            return ds.load()
    except (OSError, ValueError) as e:
        raise StoreError(f"{p} is corrupted or not a netCDF results file ({e}); not overwriting it") from None
