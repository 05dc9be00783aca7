//! `autoencoder text`: a corpus (directory tree or .tar.gz, one document per file, labelled by
//! folder) to a bag-of-words CSR matrix in scipy's `.npz` layout, with its labels, vocabulary
//! and document names beside it.

use autoencoder::data::text::{self, Vocabulary, VocabularyOptions};
use autoencoder::data::transform::InputTransform;
use autoencoder::{data::npy, fsutil, Error, Result};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// A directory tree or .tar.gz with one document per file (label = parent folder).
    #[arg(long)]
    corpus: PathBuf,
    /// Keep the N most frequent words.
    #[arg(long, default_value_t = 10000)]
    vocabulary: usize,
    /// Drop words in fewer documents than this.
    #[arg(long, default_value_t = 3)]
    min_df: usize,
    /// Drop words in more than this fraction of the documents.
    #[arg(long, default_value_t = 0.8)]
    max_df: f64,
    /// Drop documents with fewer in-vocabulary words than this.
    #[arg(long, default_value_t = 5)]
    min_words: usize,
    /// Use this vocabulary (one word a line, e.g. another run's DOCS.vocabulary.txt) instead of
    /// choosing one; words outside it count for nothing.
    #[arg(long, conflicts_with_all = ["vocabulary", "min_df", "max_df"])]
    vocabulary_from: Option<PathBuf>,
    /// Write TF-IDF weights (rows at unit length) instead of counts.
    #[arg(long)]
    tfidf: bool,
    /// Output .npz (DOCS.labels.npy, DOCS.vocabulary.txt, DOCS.names.txt, DOCS.classes.txt
    /// are written beside it).
    #[arg(long)]
    out: PathBuf,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

fn beside(out: &Path, suffix: &str) -> PathBuf {
    let name = out.file_name().unwrap_or_default().to_string_lossy();
    let stem = name.strip_suffix(".npz").unwrap_or(&name);
    out.with_file_name(format!("{stem}.{suffix}"))
}

pub fn run(args: Args) -> Result<()> {
    if args.out.extension().is_none_or(|e| e != "npz") {
        return Err(Error::format(&args.out, "the output is a .npz file"));
    }
    let options = VocabularyOptions {
        size: args.vocabulary,
        min_df: args.min_df,
        max_df: args.max_df,
    };
    options.validate()?;
    let started = Instant::now();
    let docs = text::read_corpus(&args.corpus)?;
    let vocabulary = match &args.vocabulary_from {
        Some(p) => Vocabulary::read(p)?,
        None => Vocabulary::fit(&docs, options)
            .map_err(|e| Error::format(&args.corpus, e.to_string()))?,
    };
    let mut bow = text::count(&docs, &vocabulary, args.min_words)?;
    if bow.counts.rows() == 0 {
        return Err(Error::format(
            &args.corpus,
            format!(
                "every document has fewer than {} in-vocabulary words",
                args.min_words
            ),
        ));
    }
    if args.tfidf {
        InputTransform::fit_tfidf_sparse(&bow.counts).apply_sparse(&mut bow.counts)?;
    }
    bow.counts.write_npz(&args.out)?;
    fsutil::atomic_write(
        &beside(&args.out, "labels.npy"),
        &npy::encode_i64(&bow.labels),
    )?;
    fsutil::atomic_write(
        &beside(&args.out, "vocabulary.txt"),
        vocabulary.to_text().as_bytes(),
    )?;
    let lines = |v: &[String]| v.iter().map(|s| format!("{s}\n")).collect::<String>();
    fsutil::atomic_write(
        &beside(&args.out, "names.txt"),
        lines(&bow.names).as_bytes(),
    )?;
    fsutil::atomic_write(
        &beside(&args.out, "classes.txt"),
        lines(&bow.classes).as_bytes(),
    )?;
    let seconds = started.elapsed().as_secs_f64();
    let (rows, nnz) = (bow.counts.rows(), bow.counts.nnz());
    if args.json {
        super::print_json(&serde_json::json!({
            "documents": rows,
            "dropped": bow.dropped,
            "vocabulary": vocabulary.len(),
            "classes": bow.classes.len(),
            "nonzeros": nnz,
            "tfidf": args.tfidf,
            "seconds": seconds,
            "out": args.out,
        }));
    } else {
        println!(
            "{} documents ({} dropped: fewer than {} words) × {} words, {} classes, {:.1} nonzeros a document → {} in {seconds:.1} s",
            rows,
            bow.dropped,
            args.min_words,
            vocabulary.len(),
            bow.classes.len(),
            nnz as f64 / rows as f64,
            args.out.display()
        );
    }
    Ok(())
}
