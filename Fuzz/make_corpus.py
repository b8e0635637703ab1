#!/usr/bin/env python3
"""Writes the fuzzing seed corpus: Fuzz/corpus/{npy,csv,config}/.

    /work/venv-keras/bin/python Fuzz/make_corpus.py

The .npy and CSV seeds are built here with the standard library (plus copies of
Fixtures/npy/*.npy and example/input.csv). The model_config seeds are read out of
Fixtures .h5 files with h5py (the Fixtures venv has it) and out of the config.json
members of Fixtures .keras archives, plus a few hand-written configs that reach
branches the fixtures do not (Keras 2.0 bare lists, serialized activations, JSON5).
The script is deterministic; it rewrites the three folders whole.
"""
import shutil
import struct
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "Fuzz" / "corpus"


# ---------------------------------------------------------------- .npy


def npy(descr, shape, payload, fortran=False, version=1, header=None):
    """A .npy file: magic, version, little-endian header length, padded dict header, payload."""
    if header is None:
        dims = "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
        header = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, dims)
    prefix = 10 if version == 1 else 12
    text = header.encode("utf-8" if version == 3 else "latin-1")
    text += b" " * ((64 - (prefix + len(text) + 1) % 64) % 64) + b"\n"
    length = struct.pack("<H", len(text)) if version == 1 else struct.pack("<I", len(text))
    return b"\x93NUMPY" + bytes([version, 0]) + length + text + payload


def pack(fmt, values):
    return b"".join(struct.pack(fmt, v) for v in values)


def npy_seeds():
    seeds = {}
    for path in sorted((ROOT / "Fixtures" / "npy").glob("*.npy")):
        seeds["fixture_" + path.name] = path.read_bytes()
    seeds["fixture_x1_config_features1_seq.npy"] = (
        ROOT / "Fixtures" / "tfkeras" / "config_features1_seq" / "x1.npy").read_bytes()
    six = [0, 1, -1, 2, -128 + 1, 127]
    seeds.update({
        "f4_2x3.npy": npy("<f4", (2, 3), pack("<f", [0.5, -1.5, 2.0, float("nan"), float("inf"), -0.0])),
        "f8_be_3.npy": npy(">f8", (3,), pack(">d", [1.0, -2.5, 1e300])),
        "b1_2x2.npy": npy("|b1", (2, 2), bytes([0, 1, 2, 0])),
        "i1_2x3.npy": npy("|i1", (2, 3), pack("<b", six)),
        "u1_2x3.npy": npy("|u1", (2, 3), bytes([0, 1, 255, 2, 128, 127])),
        "i2_le_2x3.npy": npy("<i2", (2, 3), pack("<h", [0, 1, -1, 32767, -32768, 2])),
        "i4_be_2x3.npy": npy(">i4", (2, 3), pack(">i", [0, 1, -1, 2**31 - 1, -2**31, 7])),
        "i8_le_2x3.npy": npy("<i8", (2, 3), pack("<q", [0, 1, -1, 2**63 - 1, -2**63, 9])),
        "u2_le_3.npy": npy("<u2", (3,), pack("<H", [0, 65535, 1])),
        "u4_be_3.npy": npy(">u4", (3,), pack(">I", [0, 2**32 - 1, 1])),
        "u8_le_3.npy": npy("<u8", (3,), pack("<Q", [0, 2**64 - 1, 1])),
        "f4_scalar.npy": npy("<f4", (), pack("<f", [3.0])),
        "f4_empty_0x3.npy": npy("<f4", (0, 3), b""),
        "i4_fortran_2x3x2.npy": npy("<i4", (2, 3, 2), pack("<i", range(12)), fortran=True),
        "f8_fortran_be_3x2.npy": npy(">f8", (3, 2), pack(">d", [1, 2, 3, 4, 5, 6]), fortran=True),
        "f4_v2_2x2.npy": npy("<f4", (2, 2), pack("<f", [1, 2, 3, 4]), version=2),
        "f4_v3_2x2.npy": npy("<f4", (2, 2), pack("<f", [1, 2, 3, 4]), version=3),
        "f4_v3_utf8_key.npy": npy("<f4", (1,), pack("<f", [1]), version=3,
                                  header="{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'é': 1}"),
        "f4_python2_long_dims.npy": npy("<f4", (2, 1), pack("<f", [1, 2]),
                                        header="{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 1L), }"),
        "f4_double_quotes_reordered.npy": npy("<f4", (1, 2), pack("<f", [1, 2]),
                                              header='{"shape": (1, 2), "fortran_order": False, "descr": "=f4"}'),
        "f4_short_payload.npy": npy("<f4", (4, 4), pack("<f", [1, 2, 3])),
    })
    return seeds


# ---------------------------------------------------------------- CSV


def csv_seeds():
    seeds = {"fixture_example_input.csv": (ROOT / "example" / "input.csv").read_bytes()}
    seeds.update({
        "one_value.csv": b"1\n",
        "no_trailing_newline.csv": b"1,2\n3,4",
        "header_two_samples.csv": b"a,b,c\n1,2,3\n4,5,6\n\n7,8,9\n10,11,12\n",
        "crlf_blank_lines.csv": b"x_0,x_1\r\n1.5,-2.5\r\n\r\n\r\n3e-3,4E+2\r\n\r\n",
        "nan_inf.csv": b"nan,inf,-inf\nNaN,Infinity,-Infinity\n+1,.5,5.\n",
        "blanks_tabs.csv": b" 1 ,\t2\t\n  \t \n 3,4 \n",
        "ragged_samples.csv": b"1,2\n3,4\n\n5,6\n",
        "ragged_row.csv": b"1,2\n3\n",
        "empty_field.csv": b"1,,2\n",
        "binary_row.csv": b"1,2\n\x00\xff,3\n",
        "header_only.csv": b"time,value\n",
        "long_number.csv": b"1." + b"0" * 70 + b",2\n",
        "exponents.csv": b"1e308,1e309,-1e-320\n4.9e-324,2.2250738585072014e-308,0x10\n",
    })
    return seeds


# ---------------------------------------------------------------- model_config

H5_CONFIGS = [
    "example/model.h5",
    "Fixtures/tfkeras/activation_gelu/model.h5",
    "Fixtures/tfkeras/config_noise_ra1_seq/model.h5",
    "Fixtures/tfkeras/config_impl2_ra0_seq_mask/model.h5",
    "Fixtures/tfkeras/return_state_ra0_last/model.h5",
    "Fixtures/tfkeras/time_major_ra1_seq_mask/model.h5",
    "Fixtures/tfkeras/v2_gru_defaults_last/model.h5",
    "Fixtures/tfkeras_other/dense_only.h5",
    "Fixtures/tfkeras_other/gru_dense.h5",
    "Fixtures/legacy/cudnn_gru_seq/model.h5",
    "Fixtures/legacy/cudnn_gru_tfkeras_last/model.h5",
    "Fixtures/legacy/k21_masking_gru_seq/model.h5",
    "Fixtures/legacy/tfk_bidi_ave_seq_mask/model.h5",
    "Fixtures/legacy/tfk_stack_masking_2gru/model.h5",
    "Fixtures/keras3/k3_gru_seq/model.h5",
    "Fixtures/keras3/k3_stack_gru_bidi_mask/model.h5",
]

KERAS_CONFIGS = [
    "Fixtures/keras3/k3_activation_gelu_seq/model.keras",
    "Fixtures/keras3/k3_bidi_none_return_state_last/model.keras",
    "Fixtures/keras3/k3_functional_masking_seq/model.keras",
    "Fixtures/keras3/k3_initial_state_seq/model.keras",
    "Fixtures/keras3/k3_stack_3gru/model.keras",
]

HAND_CONFIGS = {
    "handmade_keras20_bare_list.json":
        '{"class_name": "Sequential", "config": [{"class_name": "GRU", "config": {"name": "g", "units": 3,'
        ' "implementation": 0, "dropout": NaN, "recurrent_dropout": Infinity, "activation": null}}]}',
    "handmade_serialized_activations.json":
        '{"class_name": "Functional", "config": {"layers": [{"class_name": "GRU", "name": "outer",'
        ' "config": {"units": 2, "activation": {"class_name": "function", "config": "tanh"},'
        ' "recurrent_activation": {"module": "keras.activations", "config": {"name": "hard_sigmoid"}},'
        ' "use_bias": false, "reset_after": true}}]}}',
    "handmade_bidirectional_cudnn.json":
        '{"class_name": "Sequential", "config": {"layers": [{"class_name": "Bidirectional", "config":'
        ' {"name": "bi", "layer": {"class_name": "GRU", "config": {"units": 1e8, "go_backwards": true}}}},'
        ' {"class_name": "CuDNNGRU", "config": {"units": 4, "return_sequences": true, "stateful": null}}]}}',
    "handmade_json5.json":
        "{class_name: 'Sequential', config: {layers: [/* note */ {class_name: 'GRU', config: {units: 0x10,"
        " dropout: -Infinity, unroll: true, time_major: false,},},],},}",
    "handmade_wrong_types.json":
        '{"class_name": "Sequential", "config": {"layers": [{"class_name": "GRU", "config":'
        ' {"units": 2.5, "use_bias": "yes", "activation": 7}}]}}',
}


def config_seeds():
    seeds = {}
    try:
        import h5py
    except ImportError:
        sys.exit("make_corpus.py: h5py is needed to read model_config (run it with /work/venv-keras/bin/python)")
    for name in H5_CONFIGS:
        with h5py.File(ROOT / name, "r") as h5:
            text = h5.attrs["model_config"]
        text = text.decode("utf-8") if isinstance(text, bytes) else str(text)
        seeds[name.replace("Fixtures/", "").replace("/", "_").replace(".h5", ".json")] = text.encode("utf-8")
    for name in KERAS_CONFIGS:
        with zipfile.ZipFile(ROOT / name) as archive:
            seeds[name.replace("Fixtures/", "").replace("/", "_").replace(".keras", "_config.json")] = \
                archive.read("config.json")
    for name, text in HAND_CONFIGS.items():
        seeds[name] = text.encode("utf-8")
    return seeds


def write(kind, seeds):
    folder = CORPUS / kind
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for name, data in sorted(seeds.items()):
        (folder / name).write_bytes(data)
    print(f"{folder.relative_to(ROOT)}: {len(seeds)} files, {sum(map(len, seeds.values()))} bytes")


def main():
    write("npy", npy_seeds())
    write("csv", csv_seeds())
    write("config", config_seeds())


if __name__ == "__main__":
    main()
