// swift-tools-version:5.10
import Foundation
import PackageDescription

// gru-run's repository, two folders up; SwiftPM names a path dependency after its folder.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

let package = Package(
    name: "LibraryDemo",
    dependencies: [.package(path: root.path)],
    targets: [
        .executableTarget(
            name: "LibraryDemo",
            dependencies: [
                .product(name: "GRUCore", package: root.lastPathComponent),
                .product(name: "GRUIO", package: root.lastPathComponent),
            ]
        ),
    ]
)
