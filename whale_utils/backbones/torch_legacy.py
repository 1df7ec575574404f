"""Read a PyTorch state dict saved in PyTorch's legacy (non-zip) format, without torch.

The format is a sequence of pickles: a magic number, the protocol version, system info,
the state dict (each tensor a reference to a storage, by key), the list of storage keys;
then, for each key, the storage's element count (int64) and its raw little-endian data.
Only tensors, storages and ordered dicts are accepted: any other object in the pickle
is refused, so reading a file never runs code from it.
"""

from __future__ import annotations

import collections
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001
STORAGE_DTYPES = {"FloatStorage": np.float32, "DoubleStorage": np.float64,
                  "HalfStorage": np.float16, "LongStorage": np.int64, "IntStorage": np.int32,
                  "ShortStorage": np.int16, "CharStorage": np.int8, "ByteStorage": np.uint8,
                  "BoolStorage": np.bool_}


class LegacyTorchError(ValueError):
    """The file is not a legacy PyTorch state dict this reader understands."""


@dataclass(frozen=True)
class _Storage:
    key: str
    dtype: type
    size: int


@dataclass(frozen=True)
class _TensorRef:
    storage: _Storage
    offset: int
    shape: tuple
    stride: tuple


def _rebuild_tensor_v2(storage, storage_offset, size, stride, *_ignored):
    return _TensorRef(storage, int(storage_offset), tuple(size), tuple(stride))


class _StorageType:
    def __init__(self, name: str):
        self.name = name


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, path: Path):
        super().__init__(file)
        self.path = path

    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(name)
        raise LegacyTorchError(f"{self.path}: holds a {module}.{name} object; only tensors "
                               "of a state dict are read")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType)):
            raise LegacyTorchError(f"{self.path}: unexpected storage reference {pid!r:.80}")
        return _Storage(str(pid[2]), STORAGE_DTYPES[pid[1].name], int(pid[4]))


def read_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """The tensors of a legacy PyTorch ``.pth`` state dict, as NumPy arrays by name.

    Raises ``LegacyTorchError`` (naming the file) for another format, a truncated file
    or anything but a state dict of tensors.
    """
    path = Path(path)
    with path.open("rb") as file:
        if file.read(4) == b"PK\x03\x04":
            raise LegacyTorchError(f"{path}: PyTorch's zip format, not the legacy format "
                                   "this reader takes")
        file.seek(0)

        def load(what: str):
            try:
                return _Unpickler(file, path).load()
            except LegacyTorchError:
                raise
            except Exception as err:  # EOF, garbage: the file is not what it should be
                raise LegacyTorchError(f"{path}: cannot read the {what} ({type(err).__name__}: "
                                       f"{err}); the file is damaged or not a PyTorch "
                                       "legacy file") from None

        if load("magic number") != MAGIC_NUMBER:
            raise LegacyTorchError(f"{path}: not a PyTorch legacy file (wrong magic number)")
        if load("protocol version") != PROTOCOL_VERSION:
            raise LegacyTorchError(f"{path}: PyTorch legacy protocol other than "
                                   f"{PROTOCOL_VERSION}")
        system = load("system info")
        if not (isinstance(system, dict) and system.get("little_endian", True)):
            raise LegacyTorchError(f"{path}: written big-endian; only little-endian is read")
        state = load("state dict")
        keys = load("storage keys")
        if not isinstance(state, dict) or not all(isinstance(v, _TensorRef)
                                                  for v in state.values()):
            raise LegacyTorchError(f"{path}: the pickle is not a state dict of tensors")
        storages = {ref.storage.key: ref.storage for ref in state.values()}
        if sorted(storages) != sorted(map(str, keys)):
            raise LegacyTorchError(f"{path}: the storage list does not match the tensors")
        data = {}
        for key in map(str, keys):
            storage = storages[key]
            count = np.frombuffer(file.read(8), dtype="<i8")
            itemsize = np.dtype(storage.dtype).itemsize
            raw = file.read(storage.size * itemsize)
            if len(count) != 1 or count[0] != storage.size or len(raw) != storage.size * itemsize:
                raise LegacyTorchError(f"{path}: storage {key} is truncated or damaged "
                                       f"(expected {storage.size} elements)")
            data[key] = np.frombuffer(raw, dtype=np.dtype(storage.dtype).newbyteorder("<"))
        if file.read(1):
            raise LegacyTorchError(f"{path}: unexpected bytes after the last storage")
    tensors = {}
    for name, ref in state.items():
        flat = data[ref.storage.key]
        itemsize = flat.dtype.itemsize
        end = ref.offset + sum((n - 1) * s for n, s in zip(ref.shape, ref.stride)) + 1
        if ref.offset < 0 or (ref.shape and min(ref.shape) > 0 and end > flat.size):
            raise LegacyTorchError(f"{path}: tensor {name} reaches past its storage")
        view = np.lib.stride_tricks.as_strided(
            flat[ref.offset:], shape=ref.shape, strides=[s * itemsize for s in ref.stride])
        tensors[name] = np.array(view, dtype=flat.dtype.newbyteorder("="))
    return tensors


def write_state_dict(path: str | Path, tensors: dict[str, np.ndarray]) -> None:
    """Write ``tensors`` in the legacy format (contiguous, one storage each): the reader's
    counterpart, for tests and small examples."""
    refs = collections.OrderedDict()
    arrays = [np.require(value, requirements="C") for value in tensors.values()]  # 0-d stays 0-d
    for i, (name, array) in enumerate(zip(tensors, arrays)):
        refs[name] = _TensorRef(_Storage(str(i), array.dtype.type, array.size), 0, array.shape,
                                tuple(s // array.itemsize for s in array.strides))
    with Path(path).open("wb") as file:
        for header in (MAGIC_NUMBER, PROTOCOL_VERSION,
                       {"protocol_version": PROTOCOL_VERSION, "little_endian": True}):
            pickle.dump(header, file, protocol=2)
        dump_tensor_refs(file, refs)
        pickle.dump([str(i) for i in range(len(arrays))], file, protocol=2)
        for array in arrays:
            file.write(np.array([array.size], dtype="<i8").tobytes())
            file.write(array.astype(array.dtype.newbyteorder("<")).tobytes())


def dump_tensor_refs(file, refs: dict) -> None:
    """Pickle a state dict of tensor references as PyTorch does: each tensor rebuilt by
    ``torch._utils._rebuild_tensor_v2`` from a storage saved by persistent id."""
    storage_names = {np.dtype(v): k for k, v in STORAGE_DTYPES.items()}

    class Writer(pickle._Pickler):   # the Python pickler: torch's names written, not imported
        def persistent_id(self, obj):
            if isinstance(obj, _Storage):
                kind = _GlobalName("torch", storage_names[np.dtype(obj.dtype)])
                return ("storage", kind, obj.key, "cpu", obj.size, None)
            return None

        def reducer_override(self, obj):
            if isinstance(obj, _TensorRef):
                return (_GlobalName("torch._utils", "_rebuild_tensor_v2"),
                        (obj.storage, obj.offset, obj.shape, obj.stride, False,
                         collections.OrderedDict()))
            return NotImplemented

        def save_global(self, obj, name=None):
            if isinstance(obj, _GlobalName):
                self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())
            else:
                super().save_global(obj, name)

    Writer(file, protocol=2).dump(collections.OrderedDict(refs))


class _GlobalName:
    """A global written into a pickle by name (``module.name``) without importing it."""

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name

    def __reduce__(self):
        return self.name

    def __call__(self, *args):
        raise TypeError(f"{self.module}.{self.name} is a name to write, not to call")
