#!/usr/bin/env python3
"""Writes the gru-run wheel from an installed tree (make install DESTDIR=STAGE PREFIX=/usr).

A wheel is a zip: the binary goes to gru_run-VERSION.data/scripts/gru-run (pip installs it as the gru-run
command, unchanged, with its executable bit), the man page and completions to gru_run-VERSION.data/data/share/
(pip puts them under the environment's prefix: VENV/share/man/man1/gru-run.1, ...), and
gru_run-VERSION.dist-info/ holds METADATA, WHEEL and RECORD (every file's sha256 and size).
The tag written here is the plain linux one; `auditwheel repair` then gives the wheel the manylinux tag that
the binary's symbol versions allow (Makefile, target wheel). Standard library only; the output is the same
byte for byte for the same inputs (fixed times and order).
"""
import argparse
import base64
import hashlib
import os
import stat
import sys
import zipfile

NAME = "gru-run"
DIST = "gru_run"  # the distribution name as wheel file names spell it
SUMMARY = "Run Keras GRU models (and the models around them) outside Python, with the numbers Keras gives"
# 1980-01-01, the earliest time a zip can hold: a rebuild from the same files gives the same wheel.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def record_hash(data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "sha256=" + digest


def collect(root, version):
    """(path in the wheel, path on disk, executable) for everything under the staged prefix."""
    data = f"{DIST}-{version}.data"
    files = []
    binary = os.path.join(root, "bin", NAME)
    if not os.access(binary, os.X_OK):
        sys.exit(f"make_wheel.py: {binary} is missing or not executable")
    files.append((f"{data}/scripts/{NAME}", binary, True))
    share = os.path.join(root, "share")
    for folder, dirs, names in os.walk(share):
        dirs.sort()
        for name in sorted(names):
            path = os.path.join(folder, name)
            relative = os.path.relpath(path, root).replace(os.sep, "/")
            files.append((f"{data}/data/{relative}", path, False))
    return files


def metadata(version, readme):
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {NAME}",
        f"Version: {version}",
        f"Summary: {SUMMARY}",
        "Keywords: keras,gru,lstm,inference,tensorflow",
        "Classifier: Environment :: Console",
        "Classifier: Operating System :: POSIX :: Linux",
        "Classifier: Topic :: Scientific/Engineering :: Artificial Intelligence",
        "Description-Content-Type: text/markdown",
        "",
    ]
    return ("\n".join(lines) + "\n" + readme).encode()


def wheel_file(tag):
    return (f"Wheel-Version: 1.0\nGenerator: {NAME} Packaging/make_wheel.py\nRoot-Is-Purelib: false\nTag: {tag}\n").encode()


def write(out, entries):
    """entries: (name, bytes, executable), RECORD last."""
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as wheel:
        for name, data, executable in entries:
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            mode = 0o755 if executable else 0o644
            info.external_attr = (stat.S_IFREG | mode) << 16
            wheel.writestr(info, data)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, help="the staged prefix (holds bin/gru-run and share/)")
    parser.add_argument("--version", required=True)
    parser.add_argument("--readme", required=True, help="the long description (Markdown)")
    parser.add_argument("--out-dir", required=True)
    parser.add_argument("--plat", default="linux_x86_64", help="platform tag (auditwheel repair replaces it)")
    args = parser.parse_args()

    tag = f"py3-none-{args.plat}"
    info = f"{DIST}-{args.version}.dist-info"
    with open(args.readme, encoding="utf-8") as f:
        readme = f.read()
    entries = []
    for name, path, executable in collect(args.root, args.version):
        with open(path, "rb") as f:
            entries.append((name, f.read(), executable))
    entries.append((f"{info}/METADATA", metadata(args.version, readme), False))
    entries.append((f"{info}/WHEEL", wheel_file(tag), False))
    record = "".join(f"{name},{record_hash(data)},{len(data)}\n" for name, data, _ in entries)
    record += f"{info}/RECORD,,\n"
    entries.append((f"{info}/RECORD", record.encode(), False))

    os.makedirs(args.out_dir, exist_ok=True)
    out = os.path.join(args.out_dir, f"{DIST}-{args.version}-{tag}.whl")
    write(out, entries)
    print(out)


if __name__ == "__main__":
    main()
