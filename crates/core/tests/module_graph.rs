//! The module graph points one way: no module imports another that imports it back, directly
//! or through others. The check reads the sources of core, store, api and server, maps each file to
//! its module path, collects every `crate::a::b` and `super::` path (in `use` lines and inline),
//! resolves each to the deepest module that exists, and fails naming every circle it finds.
//!
//! What counts: references outside `#[cfg(test)]` modules (a test module may look anywhere),
//! including a parent's `use`/`pub use` of its children; a parent's `mod child;` declarations
//! are not references, nor is a child's use of an ancestor (the folder's face), nor paths that
//! resolve to the crate root (re-exports such as `crate::Error`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

/// `src/a/b.rs` and `src/a/b/mod.rs` are `a::b`; `src/lib.rs` and `src/main.rs` the root.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("a file below src");
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let last = parts.pop().expect("a file name");
    let stem = last.trim_end_matches(".rs");
    if !matches!(stem, "mod" | "lib" | "main") {
        parts.push(stem.to_string());
    }
    parts.join("::")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without comments and without its `#[cfg(test)]` modules.
fn code_of(text: &str) -> String {
    let mut out = String::new();
    let mut skip_depth: Option<i32> = None;
    let mut depth = 0i32;
    let mut pending_test = false;
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let trimmed = code.trim();
        if skip_depth.is_none() {
            if trimmed.starts_with("#[cfg(test)]") {
                pending_test = true;
                continue;
            }
            if pending_test && trimmed.starts_with("mod ") && trimmed.ends_with('{') {
                skip_depth = Some(depth);
            }
            if !trimmed.starts_with("#[") {
                pending_test = false;
            }
        }
        for c in code.chars() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
        }
        match skip_depth {
            Some(d) if depth <= d => skip_depth = None,
            Some(_) => {}
            None => {
                out.push_str(code);
                out.push('\n');
            }
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Reads a path after `crate::` (or `super::`) at `at`: `a::b::C`, or a `{...}` group of
/// such paths. Pushes each full path (as segments after the prefix).
fn read_paths(s: &[char], mut at: usize, prefix: Vec<String>, out: &mut Vec<Vec<String>>) -> usize {
    let mut path = prefix;
    loop {
        while at < s.len() && s[at].is_whitespace() {
            at += 1;
        }
        if at < s.len() && s[at] == '{' {
            at += 1;
            loop {
                while at < s.len() && (s[at].is_whitespace() || s[at] == ',') {
                    at += 1;
                }
                if at >= s.len() || s[at] == '}' {
                    return at + 1;
                }
                at = read_paths(s, at, path.clone(), out);
            }
        }
        let start = at;
        while at < s.len() && is_ident(s[at]) {
            at += 1;
        }
        if at == start {
            out.push(path);
            return at;
        }
        let seg: String = s[start..at].iter().collect();
        if seg != "self" {
            path.push(seg);
        }
        if at + 1 < s.len() && s[at] == ':' && s[at + 1] == ':' {
            at += 2;
        } else {
            out.push(path);
            return at;
        }
    }
}

/// Every module path `code` refers to through `crate::`, `super::` or `self::`, or through a
/// `use` path relative to the module itself, as a path from the crate root.
fn references(module: &str, code: &str) -> Vec<Vec<String>> {
    let s: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let here: Vec<String> = module.split("::").filter(|p| !p.is_empty()).map(String::from).collect();
    let mut i = 0;
    while i < s.len() {
        let before_ok = i == 0 || !(is_ident(s[i - 1]) || s[i - 1] == ':');
        let rest: String = s[i..s.len().min(i + 7)].iter().collect();
        if before_ok && rest.starts_with("crate::") {
            i = read_paths(&s, i + 7, Vec::new(), &mut out);
            continue;
        }
        if before_ok && rest.starts_with("self::") {
            i = read_paths(&s, i + 6, here.clone(), &mut out);
            continue;
        }
        if before_ok && rest.starts_with("use ") {
            // A `use` path that names neither `crate`, `super` nor `self` starts at this
            // module: `pub use identity::X;` in `store/mod.rs` is a reference to
            // `store::identity`. A path into another crate resolves to no module of this one.
            let mut j = i + 4;
            while j < s.len() && s[j].is_whitespace() {
                j += 1;
            }
            let next: String = s[j..s.len().min(j + 7)].iter().collect();
            if next.starts_with("crate::") || next.starts_with("super::") || next.starts_with("self::") {
                i = j;
            } else {
                i = read_paths(&s, j, here.clone(), &mut out);
            }
            continue;
        }
        if before_ok && rest.starts_with("super::") {
            let mut base = here.clone();
            let mut j = i;
            while s[j..].iter().take(7).collect::<String>() == "super::" {
                base.pop();
                j += 7;
            }
            i = read_paths(&s, j, base, &mut out);
            continue;
        }
        i += 1;
    }
    out
}

/// The import graph of the crate whose sources are in `src`.
fn graph(src: &Path) -> Graph {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(src, f)).collect();
    let mut g = Graph::new();
    for file in &files {
        let module = module_of(src, file);
        let text = std::fs::read_to_string(file).expect("a readable source file");
        let edges = g.entry(module.clone()).or_default();
        for path in references(&module, &code_of(&text)) {
            let target = (0..=path.len())
                .rev()
                .map(|n| path[..n].join("::"))
                .find(|m| modules.contains(m))
                .unwrap_or_default();
            // A folder's `mod.rs` is its face: it re-exports its children (`pub use
            // identity::X`), and a child may use what its face defines or re-exports. So the
            // parent-to-child edge counts and the child-to-ancestor one does not; a circle
            // through other modules is still found (`app -> store -> store::identity ->
            // iam::auth -> app`).
            let ancestor = module.starts_with(&format!("{target}::"));
            if !target.is_empty() && target != module && !ancestor {
                edges.insert(target);
            }
        }
    }
    g
}

/// Every circle, each once, as `a -> b -> a` (starting from its smallest module).
fn circles(g: &Graph) -> Vec<String> {
    let mut found = BTreeSet::new();
    for start in g.keys() {
        // Depth-first search for paths back to `start` through larger modules only.
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        let mut seen = BTreeSet::new();
        while let Some((node, path)) = stack.pop() {
            for next in g.get(&node).into_iter().flatten() {
                if next == start {
                    let mut cycle = path.clone();
                    cycle.push(start.clone());
                    found.insert(cycle.join(" -> "));
                } else if next > start && seen.insert(next.clone()) {
                    let mut p = path.clone();
                    p.push(next.clone());
                    stack.push((next.clone(), p));
                }
            }
        }
    }
    found.into_iter().collect()
}

fn check(crate_dir: &str) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(crate_dir)
        .join("src");
    let g = graph(&src);
    assert!(g.len() > 1, "{} holds modules", src.display());
    let found = circles(&g);
    assert!(
        found.is_empty(),
        "modules of crates/{crate_dir} import each other in a circle:\n  {}",
        found.join("\n  ")
    );
}

#[test]
fn core_modules_import_one_way() {
    check("core");
}

#[test]
fn store_modules_import_one_way() {
    check("store");
}

#[test]
fn api_modules_import_one_way() {
    check("api");
}

#[test]
fn server_modules_import_one_way() {
    check("server");
}

#[test]
fn the_check_sees_paths_groups_and_super() {
    let code =
        "use crate::a::{b::C, d, self};\nfn f() { crate::e::f(); super::g::h(); }\npub use k::L;\nuse self::m::N;\n";
    let refs: BTreeSet<String> = references("x::y", code).iter().map(|p| p.join("::")).collect();
    let want: BTreeSet<String> = ["a::b::C", "a::d", "a", "e::f", "x::g::h", "x::y::k::L", "x::y::m::N"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(refs, want);

    let mut g = Graph::new();
    g.entry("a".into()).or_default().insert("b".into());
    g.entry("b".into()).or_default().insert("c".into());
    g.entry("c".into()).or_default().insert("a".into());
    g.entry("d".into()).or_default().insert("a".into());
    assert_eq!(circles(&g), vec!["a -> b -> c -> a".to_string()]);
}

#[test]
fn test_modules_and_comments_are_not_references() {
    let text =
        "// crate::a::B\nuse crate::b::C;\n#[cfg(test)]\nmod tests {\n    use crate::d::E;\n}\nuse crate::f::G;\n";
    let code = code_of(text);
    let refs: Vec<String> = references("m", &code).iter().map(|p| p.join("::")).collect();
    assert_eq!(refs, vec!["b::C".to_string(), "f::G".to_string()]);
}
