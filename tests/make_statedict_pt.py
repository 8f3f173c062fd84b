"""Write torch-compatible state-dict .pt files without torch (test inputs for tools/export.py).

The file is what `torch.save(state_dict)` writes: a zip with `<prefix>/data.pkl` (pickle
protocol 2), `<prefix>/data/<key>` raw storages, `<prefix>/byteorder` and `<prefix>/version`.
The pickle holds an OrderedDict of tensors, each reduced to
`torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())`, with
the storage as the persistent id `('storage', torch.<Type>Storage, key, 'cpu', numel)`.
The pure-Python pickler is used so that the torch globals can be written by name while torch
itself is absent.
"""
import collections
import io
import pickle
import zipfile

Tensor = collections.namedtuple("Tensor", "storage offset size stride")  # storage: a Storage
# type is the torch storage class name, e.g. "FloatStorage"
Storage = collections.namedtuple("Storage", "type key numel")


class TorchGlobal:
    """A reference to a torch global, pickled as a GLOBAL opcode (module + name)."""

    def __init__(self, module, name):
        self.module, self.name = module, name

    def __call__(self, *args):  # the pickler only accepts callables as reduce functions
        raise TypeError("placeholder for %s.%s" % (self.module, self.name))


REBUILD = TorchGlobal("torch._utils", "_rebuild_tensor_v2")


class _TorchPickler(pickle._Pickler):
    dispatch = dict(pickle._Pickler.dispatch)

    def save_torch_global(self, obj):
        self.write(pickle.GLOBAL + ("%s\n%s\n" % (obj.module, obj.name)).encode("ascii"))
        self.memoize(obj)

    dispatch[TorchGlobal] = save_torch_global

    def save_tensor(self, t):
        args = (t.storage, t.offset, tuple(t.size), tuple(t.stride), False, collections.OrderedDict())
        self.save_reduce(REBUILD, args, obj=t)

    dispatch[Tensor] = save_tensor

    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", TorchGlobal("torch", obj.type), obj.key, "cpu", obj.numel)
        return None


def write_state_dict(path, obj, storages, prefix="archive"):
    """Write `obj` (a state dict of Tensors, possibly nested in dicts) and the storage bytes."""
    with open(path, "wb") as f, zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as z:
        buf = io.BytesIO()
        _TorchPickler(buf, protocol=2).dump(obj)
        z.writestr(prefix + "/data.pkl", buf.getvalue())
        z.writestr(prefix + "/byteorder", b"little")
        for key, data in storages.items():
            z.writestr(prefix + "/data/" + key, data)
        z.writestr(prefix + "/version", b"3\n")
