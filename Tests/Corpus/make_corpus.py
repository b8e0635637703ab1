"""Writes Tests/Corpus/bad/: malformed inputs gru-run must refuse with one sentence and a sysexits status.

Usage: python Tests/Corpus/make_corpus.py   (needs numpy and h5py, e.g. the venv of Fixtures/requirements.txt)
Each case is listed in Tests/Corpus/cases.json with the arguments to run, the expected exit status and a
fragment the one-line message must contain. Paths in arguments are relative to the repository root.
"""
import json
import shutil
import struct
import zipfile
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "Tests" / "Corpus" / "bad"
GOOD = "Fixtures/tfkeras/grid_ra0_hardsig_fwd_last"   # 5 features, 7 units, batch 5, 6 steps
MODEL, X = GOOD + "/model.h5", GOOD + "/x1.npy"
ANY_LENGTH = "Fixtures/tfkeras/activation_tanh/model.h5"   # input (None, None, 5)
cases = []


def rel(path):
    return str(path.relative_to(ROOT))


def case(name, args, status, fragment):
    cases.append({"name": name, "args": args, "status": status, "message": fragment})


def npy_bytes(header, payload=b"", version=(1, 0)):
    text = header.encode("latin1")
    text += b" " * ((64 - (10 + len(text) + 1) % 64) % 64) + b"\n"
    length = struct.pack("<H", len(text)) if version[0] == 1 else struct.pack("<I", len(text))
    return b"\x93NUMPY" + bytes(version) + length + text + payload


def write(name, data):
    path = OUT / name
    path.write_bytes(data)
    return rel(path)


def npy_cases():
    ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (5, 6, 5), }"
    data = np.zeros((5, 6, 5), "<f4").tobytes()
    bad = {
        "text_as_npy.npy": (b"0.5,1.5\n", "does not start with the .npy magic"),
        "version9.npy": (b"\x93NUMPY\x09\x00\x10\x00" + b" " * 16, "format version 9.0"),
        "header_too_long.npy": (b"\x93NUMPY\x01\x00\xff\x7f{'descr'", "the header claims"),
        "complex.npy": (npy_bytes(ok.replace("<f4", "<c8"), data), "'<c8' is not supported"),
        "fortran_maybe.npy": (npy_bytes(ok.replace("False", "maybe"), data), "'fortran_order'"),
        "negative_dim.npy": (npy_bytes(ok.replace("(5, 6, 5)", "(5, -6, 5)"), data), "'shape' is not a tuple"),
        "claims_1e10.npy": (npy_bytes(ok.replace("(5, 6, 5)", "(100000, 100000, 1)"), b"\0" * 200), "needs 40000000000 bytes"),
        "overflow_dims.npy": (npy_bytes(ok.replace("(5, 6, 5)", "(999999999999, 999999999999, 9)")), "too many values"),
        "truncated_data.npy": (npy_bytes(ok, data[:100]), "needs 600 bytes of data but the file holds 100"),
        "code_in_header.npy": (npy_bytes(ok.replace("'<f4'", "__import__('os').system('true')"), data), "'descr' is not a string"),
        "rank2.npy": (npy_bytes(ok.replace("(5, 6, 5)", "(30, 5)"), data), "3 dimensions"),
        "zero_steps.npy": (npy_bytes(ok.replace("(5, 6, 5)", "(5, 0, 5)")), "every dimension must be at least 1"),
        "datetimes.npy": (npy_bytes(ok.replace("<f4", "<M8"), data), "'<M8' is not supported"),
        "wrong_features.npy": (npy_bytes(ok.replace("(5, 6, 5)", "(5, 10, 3)"), data), "has 3 features per step"),
    }
    for name, (content, fragment) in bad.items():
        case(name, ["--weights", MODEL, "--input", write(name, content)], 65, fragment)


def csv_cases():
    bad = {
        "empty.csv": (b"", "holds no rows of numbers"),
        "ragged.csv": (b"1,2,3,4,5\n1,2,3,4,5\n1,2,3\n", "line 3: the row has 3 values but earlier rows have 5"),
        "word.csv": (b"1,2,3,4,5\n1,2,three,4,5\n", "line 2: column 3 holds 'three'"),
        "junk.csv": (bytes(range(256)) * 4, "binary data"),
        "uneven_samples.csv": (b"1,2,3,4,5\n1,2,3,4,5\n\n1,2,3,4,5\n", "sample 2 has 1 rows but the first sample has 2"),
        "three_features.csv": (b"1,2,3\n4,5,6\n", "has 3 features per step"),
        # A first row holding a number is data, not a header: its bad token is named.
        "first_row_word.csv": (b"1.0,oops,2,3,4\n1,2,3,4,5\n", "line 1: column 2 holds 'oops', which is not a number"),
        "first_row_na.csv": (b"1,2,3,4,NA\n1,2,3,4,5\n", "line 1: column 5 holds 'NA', which is not a number"),
        "tab_in_field.csv": (b"1,2\t3,4,5,6\n", "line 1: column 2 holds '2<tab>3', which is not a number"),
        # np.savetxt of a batch minus one row: the model fixes 6 timesteps and 29 rows are not whole samples.
        "savetxt_not_whole.csv": (savetxt(29), "line 1: the block of 29 rows starting here is not a whole number of samples of 6 timesteps"),
        "pandas_index_gap.csv": (b",a,b,c,d,e\n0,1,2,3,4,5\n2,1,2,3,4,5\n", "line 3: column 1 holds 2 where pandas' index would be 1"),
        "index_no_header.csv": (savetxt(6, index=True), "has 6 features per step but layer 'gru' of " + MODEL + " expects 5; column 1 counts 0, 1, 2, ... like an index"),
        "header_columns.csv": (b"a,b,c\n1,2,3,4,5\n", "line 2: the row has 5 values but the header on line 1 names 3 columns"),
        "mixed_separators.csv": (b"1,2,3,4,5\n1 2 3 4 5\n", "line 2: the values are separated by blanks but earlier rows use commas"),
    }
    for name, (content, fragment) in bad.items():
        case(name, ["--weights", MODEL, "--input", write(name, content)], 65, fragment)
    six = write("six_rows.csv", savetxt(6))
    case("timesteps_contradicts", ["--weights", MODEL, "--input", six, "--timesteps", "3"], 64,
         "--timesteps 3 contradicts " + MODEL + ", whose input has a fixed length of 6 timesteps")
    case("timesteps_not_whole", ["--weights", ANY_LENGTH, "--input", six, "--timesteps", "4"], 65,
         "line 1: the block of 6 rows starting here is not a whole number of samples of 4 timesteps (--timesteps 4)")


def savetxt(rows, index=False):
    """Rows of 5 features as np.savetxt(..., delimiter=",") writes them, without blank lines."""
    x = np.arange(rows * 5, dtype="f4").reshape(rows, 5) / 10
    if index:
        x = np.hstack([np.arange(rows, dtype="f4").reshape(rows, 1), x])
    lines = [",".join("%.18e" % v for v in row) for row in x]
    return ("\n".join(lines) + "\n").encode()


def copy_model(name):
    path = OUT / name
    shutil.copy(ROOT / MODEL, path)
    return path


def hdf5_cases():
    case("not_hdf5.h5", ["--weights", write("not_hdf5.h5", b"just text\n" * 20), "--input", X], 65, "is not an HDF5 file")
    case("truncated.h5", ["--weights", write("truncated.h5", (ROOT / MODEL).read_bytes()[:3000]), "--input", X], 65, "is damaged or truncated")
    case("dense_only.h5", ["--weights", "Fixtures/tfkeras_other/dense_only.h5", "--input", X, "--layer", "dense"], 65,
         "is a Dense; --layer runs a GRU or Bidirectional(GRU) alone; run the model up to it with --through dense; its layers are")

    path = copy_model("dangling_weight_names.h5")
    with h5py.File(path, "r+") as f:
        g = f["model_weights/gru"]
        g.attrs["weight_names"] = [b"gru/gru_cell/kernel:0", b"gru/gru_cell/nowhere:0", b"gru/gru_cell/bias:0"]
    case(path.name, ["--weights", rel(path), "--input", X], 65, "lists weight gru/gru_cell/nowhere:0 but the file has no dataset")

    for name, data, fragment in [("string_kernel.h5", np.array([b"abc"] * 15), "holds strings"),
                                 ("integer_kernel.h5", np.ones((5, 21), "i4"), "holds integers")]:
        path = copy_model(name)
        with h5py.File(path, "r+") as f:
            del f["model_weights/gru/gru/gru_cell/kernel:0"]
            f["model_weights/gru/gru/gru_cell"].create_dataset("kernel:0", data=data)
        case(name, ["--weights", rel(path), "--input", X], 65, fragment)

    path = copy_model("kernel_shape.h5")
    with h5py.File(path, "r+") as f:
        del f["model_weights/gru/gru/gru_cell/kernel:0"]
        f["model_weights/gru/gru/gru_cell"].create_dataset("kernel:0", data=np.zeros((5, 20), "f4"))
    case(path.name, ["--weights", rel(path), "--input", X], 65, "has a kernel of shape (5, 20)")

    path = copy_model("units_disagree.h5")
    with h5py.File(path, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        config["config"]["layers"][-1]["config"]["units"] = 9
        f.attrs["model_config"] = json.dumps(config)
    case(path.name, ["--weights", rel(path), "--input", X], 65, "has units = 9 in its config but its recurrent kernel holds 7 units")

    path = copy_model("broken_config.h5")
    with h5py.File(path, "r+") as f:
        f.attrs["model_config"] = f.attrs["model_config"][:40]
    case(path.name, ["--weights", rel(path), "--input", X], 65, "model_config is not valid JSON")

    path = copy_model("activation_softmax.h5")
    with h5py.File(path, "r+") as f:
        f.attrs["model_config"] = f.attrs["model_config"].replace('"activation": "tanh"', '"activation": "softmax"')
    case(path.name, ["--weights", rel(path), "--input", X], 65, "uses activation 'softmax', which works over an axis, not element by element, so it cannot be a GRU's activation")


def keras_zip_cases():
    good = ROOT / "Fixtures/keras3/k3_gru_seq/model.keras"
    x3 = "Fixtures/keras3/k3_gru_seq/x1.npy"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(OUT / "no_config.keras", "w") as target:
        for item in source.infolist():
            if item.filename != "config.json":
                target.writestr(item, source.read(item.filename))
    case("no_config.keras", ["--weights", "Tests/Corpus/bad/no_config.keras", "--input", x3], 65, "the archive has no config.json")
    case("not_zip.keras", ["--weights", write("not_zip.keras", b"PK\x03\x04" + b"\xff" * 100), "--input", x3], 65, "is not a readable zip archive")


def call_cases():
    state = write("state_wrong_shape.npy", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (5, 3), }", b"\0" * 60))
    case("initial_state_shape", ["--weights", MODEL, "--input", X, "--initial-state", state], 65, "holds a state of shape (5, 3); this input needs (5, 7)")
    mask = write("mask_wrong_shape.npy", npy_bytes("{'descr': '|b1', 'fortran_order': False, 'shape': (6, 5), }", b"\1" * 30))
    case("mask_shape", ["--weights", MODEL, "--input", X, "--mask", mask], 65, "the input needs a mask of shape (5, 6)")
    case("missing_input", ["--weights", MODEL, "--input", "Tests/Corpus/bad/absent.npy"], 66, "does not exist")
    case("missing_weights", ["--weights", "Tests/Corpus/bad/absent.h5", "--input", X], 66, "does not exist")
    case("output_folder_missing", ["--weights", MODEL, "--input", X, "--output", "Tests/Corpus/bad/no/such/dir/y.npy"], 74, "its folder")
    case("device_full", ["--weights", MODEL, "--input", X, "--output", "/dev/full"], 74, "the device is full")
    case("output_is_input", ["--weights", MODEL, "--input", X, "--output", X], 64, "is the same file as --input")
    case("unknown_flag", ["--weights", MODEL, "--input", X, "--colour"], 64, "Unknown option '--colour'")


# A layer name a terminal would act on: ESC ] 0 ; ... BEL sets the window title, U+009B is the C1 form of
# ESC [, U+202E reverses the text after it.
CONTROL_NAME = "\x1b]0;pwned\x07gru\u009b31m\u202eevil"


def terminal_cases():
    path = copy_model("control_names.h5")
    with h5py.File(path, "r+") as f:
        weights = f["model_weights"]
        weights.move("gru", CONTROL_NAME)
        weights.attrs["layer_names"] = np.array([CONTROL_NAME.encode()], dtype=object)
        config = json.loads(f.attrs["model_config"])
        config["config"]["layers"][-1]["config"]["name"] = CONTROL_NAME
        f.attrs["model_config"] = json.dumps(config)
    shown = "\\u{1B}]0;pwned\\u{07}gru\\u{9B}31m\\u{202E}evil"
    case(path.name, ["--weights", rel(path), "--input", "Tests/Corpus/bad/three_features.csv"], 65,
         "has 3 features per step but layer '" + shown + "' of Tests/Corpus/bad/control_names.h5 expects 5")
    case("control_names_listing", ["--weights", rel(path), "--input", X, "--layer", "nosuch"], 65,
         "has no layer named 'nosuch'; its layers are input (InputLayer), " + shown + " (GRU)")

    # A 1 MB layer name, small on disk because the archive compresses config.json.
    good = ROOT / "Fixtures/keras3/k3_gru_seq/model.keras"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(OUT / "long_name.keras", "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "config.json":
                config = json.loads(data)
                config["config"]["layers"][1]["config"]["name"] = "n" * (1 << 20)
                data = json.dumps(config).encode()
            info = zipfile.ZipInfo(item.filename, date_time=item.date_time)   # the same bytes on every run
            target.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    case("long_name.keras", ["--weights", "Tests/Corpus/bad/long_name.keras", "--input", "Tests/Corpus/bad/three_features.csv"], 65,
         "has 3 features per step but layer '" + "n" * 200 + "…(1048576 characters)' of Tests/Corpus/bad/long_name.keras expects 5")
    case("long_name_listing", ["--weights", "Tests/Corpus/bad/long_name.keras", "--input", X, "--layer", "nosuch"], 65,
         "its layers are input_layer (InputLayer), " + "n" * 200 + "…(1048576 characters) (GRU).")


def main():
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    npy_cases()
    csv_cases()
    hdf5_cases()
    keras_zip_cases()
    call_cases()
    terminal_cases()
    (ROOT / "Tests" / "Corpus" / "cases.json").write_text(json.dumps({"cases": cases}, indent=1) + "\n")
    print(len(cases), "cases")


if __name__ == "__main__":
    main()
