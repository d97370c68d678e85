//! The reading bounds as global flags (`--max-archive-depth`,
//! `--max-member-size`, …): what a hostile or broken input may cost
//! before it is reported and skipped. Defaults are
//! [`quarry_read::Limits::DEFAULT`], as the README states them.

use quarry_read::Limits;

#[derive(clap::Args)]
#[command(next_help_heading = "Limits on bad input")]
pub struct LimitArgs {
    /// Open containers (zip, gzip, tar) nested at most N deep; deeper ones are reported, not opened.
    #[arg(long, global = true, value_name = "N", default_value_t = Limits::DEFAULT.max_archive_depth)]
    max_archive_depth: u32,
    /// Let one input decompress to at most RATIO times its size on disk (but see --expansion-floor); past it the input is reported and its rest skipped.
    #[arg(long, global = true, value_name = "RATIO", default_value_t = Limits::DEFAULT.max_expansion)]
    max_expansion: u64,
    /// Let any input decompress to at least SIZE, whatever --max-expansion gives.
    #[arg(long, global = true, value_name = "SIZE", default_value = "1G", value_parser = parse_size)]
    expansion_floor: u64,
    /// Hold at most SIZE of one archive member that must be read in memory (an EVTX file or a zip inside an archive).
    #[arg(long, global = true, value_name = "SIZE", default_value = "2G", value_parser = parse_size)]
    max_member_size: u64,
    /// Skip (and report) a JSON line or document larger than SIZE.
    #[arg(long, global = true, value_name = "SIZE", default_value = "256M", value_parser = parse_size)]
    max_document_size: u64,
}

impl From<LimitArgs> for Limits {
    fn from(a: LimitArgs) -> Limits {
        Limits {
            max_archive_depth: a.max_archive_depth,
            max_expansion: a.max_expansion,
            expansion_floor: a.expansion_floor,
            max_member_size: a.max_member_size,
            max_document_size: a.max_document_size,
        }
    }
}

/// `4096`, `64K`, `512M`, `2G` (binary units; `KiB`, `MB`… read alike).
/// Hand-written: five suffixes do not warrant a dependency.
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(digits);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("{s:?} is not a size (e.g. 4096, 64K, 512M, 2G)"))?;
    let shift = match unit
        .trim()
        .to_ascii_uppercase()
        .trim_end_matches(['B', 'I'])
    {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => return Err(format!("{s:?}: unknown unit (use K, M, G or T)")),
    };
    n.checked_mul(1 << shift)
        .ok_or_else(|| format!("{s:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("64K"), Ok(64 << 10));
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("2g"), Ok(2 << 30));
        assert!(parse_size("2X").is_err());
        assert!(parse_size("G").is_err());
        assert!(parse_size("99999999999T").is_err());
    }

    /// The defaults written as text for `--help` are the library's.
    #[test]
    fn defaults_are_the_documented_limits() {
        #[derive(clap::Parser)]
        struct T {
            #[command(flatten)]
            limits: LimitArgs,
        }
        let t = <T as clap::Parser>::try_parse_from(["t"]).map_err(|e| e.to_string());
        assert_eq!(t.map(|t| Limits::from(t.limits)), Ok(Limits::DEFAULT));
    }
}
