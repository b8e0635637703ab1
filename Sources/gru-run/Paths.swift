import Foundation

// Paths as the command line shows, reads and compares them.

func displayName(_ path: String) -> String { path == "-" ? "standard input" : path }

/// Format from `--*-format`, else the extension; standard output uses `standardDefault`.
func outputFormat(for path: String, override: FileFormat?, standardDefault: FileFormat) throws -> FileFormat {
    if let override { return override }
    if path == "-" { return standardDefault }
    switch URL(fileURLWithPath: path).pathExtension.lowercased() {
    case "npy": return .npy
    case "npz": return .npz
    case "csv", "txt": return .csv
    // A device or stream without an extension (/dev/stdout, /dev/fd/3, /dev/null) is written as standard
    // output is; a file on a file system under /dev (/dev/shm/y.npy) goes by its extension.
    case "" where path.hasPrefix("/dev/"): return standardDefault
    default:
        throw CLIError.usage("cannot tell the format of \(path) from its extension; name it .npy, .npz or .csv, or add --output-format")
    }
}

/// Two paths name the same file: the same inode when both exist, else the same absolute path.
func sameFile(_ a: String, _ b: String) -> Bool {
    var sa = stat(), sb = stat()
    if stat(a, &sa) == 0 && stat(b, &sb) == 0 {
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino
    }
    return URL(fileURLWithPath: a).standardizedFileURL.path == URL(fileURLWithPath: b).standardizedFileURL.path
}
