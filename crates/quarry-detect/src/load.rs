//! Rule files and folders → a [`RuleSet`]. Folders are walked recursively
//! (sorted by path); each file is read by the rule format its extension
//! names. No paths: quarry's built-in pack.

use quarry_rules::{RuleSet, SkipKind, Skipped};
use std::path::{Path, PathBuf};

/// A rule file format: its extensions and its parser.
struct Format {
    extensions: &'static [&'static str],
    parse: fn(&str, PathBuf) -> RuleSet,
}

/// Every rule file format quarry reads.
const FORMATS: &[Format] = &[Format {
    extensions: &["toml"],
    parse: quarry_rules::load_str,
}];

fn format_of(path: &Path) -> Option<&'static Format> {
    let ext = path.extension()?.to_str()?;
    FORMATS
        .iter()
        .find(|f| f.extensions.iter().any(|e| e.eq_ignore_ascii_case(ext)))
}

/// Loads rule files and folders; with no paths, the built-in pack. Every
/// file that could not be read or parsed is in [`RuleSet::skipped`].
pub fn load(paths: &[PathBuf]) -> RuleSet {
    if paths.is_empty() {
        return quarry_rules::builtin();
    }
    let mut set = RuleSet::default();
    for p in paths {
        let mut files = Vec::new();
        if p.is_dir() {
            walk(p, &mut files, &mut set.skipped);
            files.sort();
        } else {
            files.push(p.clone());
        }
        for f in files {
            // a file named on the command line is read as TOML unless its
            // extension says otherwise, as before formats were chosen
            let parse = format_of(&f).map_or(FORMATS[0].parse, |fmt| fmt.parse);
            match std::fs::read_to_string(&f) {
                Ok(text) => set.extend(parse(&text, f)),
                Err(e) => set.skipped.push(read_error(f, e)),
            }
        }
    }
    set
}

fn read_error(path: PathBuf, e: std::io::Error) -> Skipped {
    Skipped {
        path,
        rule_id: None,
        name: None,
        kind: SkipKind::ReadError,
        reason: e.to_string(),
    }
}

/// Collects the rule files under `dir`, reporting folders that cannot be read.
fn walk(dir: &Path, files: &mut Vec<PathBuf>, skipped: &mut Vec<Skipped>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => return skipped.push(read_error(dir.to_path_buf(), e)),
    };
    for entry in entries {
        let path = match entry {
            Ok(e) => e.path(),
            Err(e) => {
                skipped.push(read_error(dir.to_path_buf(), e));
                continue;
            }
        };
        if path.is_dir() {
            walk(&path, files, skipped);
        } else if format_of(&path).is_some() {
            files.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_paths_are_reported_and_no_paths_is_the_builtin_pack() {
        let missing = load(&["/nonexistent/quarry-rules".into()]);
        assert_eq!(missing.skipped[0].kind, SkipKind::ReadError);
        let builtin = load(&[]);
        assert!(!builtin.rules.is_empty());
        assert!(builtin.skipped.is_empty());
    }

    #[test]
    fn folders_are_walked_for_rule_files_only() {
        let dir = std::env::temp_dir().join(format!("quarry-detect-load-{}", std::process::id()));
        let sub = dir.join("sub");
        std::fs::create_dir_all(&sub).unwrap();
        let rule = quarry_rules::builtin().rules[0].path.clone();
        assert!(rule.to_string_lossy().starts_with("builtin:"));
        std::fs::write(sub.join("notes.md"), "not a rule").unwrap();
        std::fs::write(sub.join("bad.toml"), "[rule]\nname = ").unwrap();
        let set = load(std::slice::from_ref(&dir));
        assert_eq!(set.skipped.len(), 1, "{:?}", set.skipped);
        assert_eq!(set.skipped[0].kind, SkipKind::ParseError);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
