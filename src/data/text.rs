//! Text corpora to bag-of-words count matrices (for semantic hashing, §14.9).
//!
//! A corpus is a directory tree or a `.tar.gz` with one document per file; a document's label
//! is its parent folder. Text is read leniently (bytes; anything not an ASCII letter separates
//! tokens), lowercased, cut into tokens of two or more letters, and stripped of English stop
//! words. A leading e-mail/news header (a first line `Name: value`) is dropped up to the first
//! blank line — a `\n\n`, or the `\t\t` of the shared 20 Newsgroups copy, whose posts are one
//! line each with their line breaks turned into tabs. Files whose names end in `-o` (that
//! copy's duplicates) or start with `.` are skipped.
//!
//! The vocabulary keeps the `size` most frequent words (total count; ties by word) among those
//! in at least `min_df` documents and at most `max_df` of them, stored in alphabetical order
//! (as scikit-learn's `CountVectorizer`). Documents with fewer than `min_words` in-vocabulary
//! tokens are dropped and counted.

use super::sparse::CsrMatrix;
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// One document of a corpus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document {
    /// `label/file` within the corpus.
    pub name: String,
    /// The parent folder's name.
    pub label: String,
    /// The raw text (bytes, read leniently).
    pub text: Vec<u8>,
}

/// Reads every document of a directory tree or a `.tar.gz`/`.tgz`, sorted by name.
pub fn read_corpus(path: &Path) -> Result<Vec<Document>> {
    let name = path.to_string_lossy().to_lowercase();
    let mut docs = if path.is_dir() {
        let mut docs = Vec::new();
        read_dir_tree(path, path, &mut docs)?;
        docs
    } else if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
        read_tar_gz(path)?
    } else if path.exists() {
        return Err(Error::format(
            path,
            "a corpus is a directory or a .tar.gz with one document per file",
        ));
    } else {
        return Err(Error::format(path, "no such file or directory"));
    };
    if docs.is_empty() {
        return Err(Error::format(
            path,
            "no documents (one file per document, in a folder named by its label)",
        ));
    }
    docs.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(docs)
}

fn skipped(file_name: &str) -> bool {
    file_name.starts_with('.') || file_name.ends_with("-o")
}

fn read_dir_tree(root: &Path, dir: &Path, docs: &mut Vec<Document>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let path = entry.path();
        let file_name = entry.file_name().to_string_lossy().into_owned();
        if file_name.starts_with('.') {
            continue;
        }
        let kind = entry.file_type().map_err(|e| Error::io(&path, e))?;
        if kind.is_dir() {
            read_dir_tree(root, &path, docs)?;
        } else if kind.is_file() && !skipped(&file_name) {
            let rel: PathBuf = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
            push_document(docs, &rel, crate::fsutil::read(&path)?);
        }
    }
    Ok(())
}

fn read_tar_gz(path: &Path) -> Result<Vec<Document>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let bad = |e: std::io::Error| Error::format(path, format!("reading the archive: {e}"));
    let mut docs = Vec::new();
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let rel = entry.path().map_err(bad)?.into_owned();
        let file_name = rel
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if skipped(&file_name) {
            continue;
        }
        let mut text = Vec::new();
        entry.read_to_end(&mut text).map_err(bad)?;
        push_document(&mut docs, &rel, text);
    }
    Ok(docs)
}

/// A document at `rel` (label = its parent folder; a file at the root has label `""`).
fn push_document(docs: &mut Vec<Document>, rel: &Path, text: Vec<u8>) {
    let file = rel
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let label = rel
        .parent()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = if label.is_empty() {
        file
    } else {
        format!("{label}/{file}")
    };
    docs.push(Document { name, label, text });
}

/// The text after a leading header block, if the document starts with one.
pub fn strip_header(text: &[u8]) -> &[u8] {
    let first_line_end = text
        .iter()
        .position(|&b| b == b'\n' || b == b'\t')
        .unwrap_or(text.len());
    let first = &text[..first_line_end];
    let looks_like_header = first.iter().position(|&b| b == b':').is_some_and(|colon| {
        colon > 0
            && first[..colon]
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
    });
    if !looks_like_header {
        return text;
    }
    let blank = text.windows(2).position(|w| w == b"\n\n" || w == b"\t\t");
    let crlf = text.windows(4).position(|w| w == b"\r\n\r\n");
    match (blank, crlf) {
        (Some(a), Some(b)) if b < a => &text[b + 4..],
        (Some(a), _) => &text[a + 2..],
        (None, Some(b)) => &text[b + 4..],
        (None, None) => &[],
    }
}

/// Calls `each` with every token of `text`: runs of two or more ASCII letters, lowercased, not
/// stop words.
pub fn tokenize(text: &[u8], mut each: impl FnMut(&str)) {
    let mut word = String::new();
    let mut flush = |word: &mut String| {
        if word.len() >= 2 && !is_stop_word(word) {
            each(word);
        }
        word.clear();
    };
    for &b in text {
        if b.is_ascii_alphabetic() {
            word.push(b.to_ascii_lowercase() as char);
        } else if !word.is_empty() {
            flush(&mut word);
        }
    }
    flush(&mut word);
}

/// Whether `word` (lowercase) is an English stop word.
pub fn is_stop_word(word: &str) -> bool {
    STOP_WORDS.binary_search(&word).is_ok()
}

/// How the vocabulary is chosen.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VocabularyOptions {
    /// The most words kept.
    pub size: usize,
    /// Words in fewer documents are dropped.
    pub min_df: usize,
    /// Words in more than this fraction of the documents are dropped.
    pub max_df: f64,
}

impl VocabularyOptions {
    /// Checks the options; errors name the flag.
    pub fn validate(&self) -> Result<()> {
        if self.size == 0 {
            return Err(Error::Invalid("--vocabulary must be at least 1".into()));
        }
        if !(self.max_df > 0.0 && self.max_df <= 1.0) {
            return Err(Error::Invalid(format!(
                "--max-df must be a fraction in (0, 1], got {}",
                self.max_df
            )));
        }
        Ok(())
    }
}

/// Words in alphabetical order, each with its column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vocabulary {
    words: Vec<String>,
    index: HashMap<String, u32>,
}

impl Vocabulary {
    /// A vocabulary of these words (sorted and deduplicated).
    pub fn new(mut words: Vec<String>) -> Vocabulary {
        words.sort();
        words.dedup();
        let index = words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.clone(), i as u32))
            .collect();
        Vocabulary { words, index }
    }

    /// Chooses the vocabulary of `docs` by `options`.
    pub fn fit(docs: &[Document], options: VocabularyOptions) -> Result<Vocabulary> {
        options.validate()?;
        let mut df: HashMap<String, (usize, u64)> = HashMap::new();
        let mut seen: Vec<String> = Vec::new();
        for doc in docs {
            seen.clear();
            tokenize(strip_header(&doc.text), |t| {
                let e = df.entry(t.to_string()).or_insert((0, 0));
                e.1 += 1;
                seen.push(t.to_string());
            });
            seen.sort_unstable();
            seen.dedup();
            for w in &seen {
                if let Some(e) = df.get_mut(w) {
                    e.0 += 1;
                }
            }
        }
        let max_docs = options.max_df * docs.len() as f64;
        let mut kept: Vec<(String, u64)> = df
            .into_iter()
            .filter(|(_, (d, _))| *d >= options.min_df && *d as f64 <= max_docs)
            .map(|(w, (_, total))| (w, total))
            .collect();
        kept.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        kept.truncate(options.size);
        if kept.is_empty() {
            return Err(Error::Invalid(format!(
                "no word is in at least {} documents and at most {} of them; lower --min-df or raise --max-df",
                options.min_df, options.max_df
            )));
        }
        Ok(Vocabulary::new(kept.into_iter().map(|(w, _)| w).collect()))
    }

    /// Reads one word per line (as [`Vocabulary::to_text`] writes).
    pub fn read(path: &Path) -> Result<Vocabulary> {
        let text = crate::fsutil::read(path)?;
        let text = String::from_utf8(text)
            .map_err(|_| Error::format(path, "a vocabulary file is UTF-8 text, one word a line"))?;
        let words: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        if words.is_empty() {
            return Err(Error::format(path, "no words"));
        }
        Ok(Vocabulary::new(words))
    }

    /// One word per line.
    pub fn to_text(&self) -> String {
        let mut s = self.words.join("\n");
        s.push('\n');
        s
    }

    /// Number of words.
    pub fn len(&self) -> usize {
        self.words.len()
    }
    /// Whether there are no words.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }
    /// The words, alphabetical.
    pub fn words(&self) -> &[String] {
        &self.words
    }
    /// The column of `word`.
    pub fn column(&self, word: &str) -> Option<u32> {
        self.index.get(word).copied()
    }
}

/// A corpus as word counts.
#[derive(Clone, Debug, PartialEq)]
pub struct BagOfWords {
    /// Documents × vocabulary counts.
    pub counts: CsrMatrix,
    /// Each kept document's label index into `classes`.
    pub labels: Vec<i64>,
    /// Label names, sorted; label `i` is `classes[i]`.
    pub classes: Vec<String>,
    /// Each kept document's name.
    pub names: Vec<String>,
    /// Documents dropped for having fewer than `min_words` in-vocabulary tokens.
    pub dropped: usize,
}

/// Counts each document's in-vocabulary tokens (words outside it count for nothing); drops
/// documents with fewer than `min_words` of them.
pub fn count(docs: &[Document], vocabulary: &Vocabulary, min_words: usize) -> Result<BagOfWords> {
    let mut classes: Vec<String> = docs.iter().map(|d| d.label.clone()).collect();
    classes.sort();
    classes.dedup();
    let mut indptr = vec![0usize];
    let (mut indices, mut data) = (Vec::new(), Vec::new());
    let (mut labels, mut names) = (Vec::new(), Vec::new());
    let mut row: Vec<u32> = Vec::new();
    let mut dropped = 0;
    for doc in docs {
        row.clear();
        tokenize(strip_header(&doc.text), |t| {
            if let Some(c) = vocabulary.column(t) {
                row.push(c);
            }
        });
        if row.len() < min_words.max(1) {
            dropped += 1;
            continue;
        }
        row.sort_unstable();
        let mut i = 0;
        while i < row.len() {
            let j = row[i..]
                .iter()
                .position(|&c| c != row[i])
                .map_or(row.len(), |k| i + k);
            indices.push(row[i]);
            data.push((j - i) as f32);
            i = j;
        }
        indptr.push(data.len());
        labels.push(classes.binary_search(&doc.label).unwrap_or(0) as i64);
        names.push(doc.name.clone());
    }
    let counts = CsrMatrix::new(labels.len(), vocabulary.len(), indptr, indices, data)?;
    Ok(BagOfWords {
        counts,
        labels,
        classes,
        names,
        dropped,
    })
}

/// English stop words: scikit-learn's `ENGLISH_STOP_WORDS` (318 words, from the Glasgow
/// Information Retrieval Group's list), sorted for binary search.
pub const STOP_WORDS: [&str; 318] = [
    "a",
    "about",
    "above",
    "across",
    "after",
    "afterwards",
    "again",
    "against",
    "all",
    "almost",
    "alone",
    "along",
    "already",
    "also",
    "although",
    "always",
    "am",
    "among",
    "amongst",
    "amoungst",
    "amount",
    "an",
    "and",
    "another",
    "any",
    "anyhow",
    "anyone",
    "anything",
    "anyway",
    "anywhere",
    "are",
    "around",
    "as",
    "at",
    "back",
    "be",
    "became",
    "because",
    "become",
    "becomes",
    "becoming",
    "been",
    "before",
    "beforehand",
    "behind",
    "being",
    "below",
    "beside",
    "besides",
    "between",
    "beyond",
    "bill",
    "both",
    "bottom",
    "but",
    "by",
    "call",
    "can",
    "cannot",
    "cant",
    "co",
    "con",
    "could",
    "couldnt",
    "cry",
    "de",
    "describe",
    "detail",
    "do",
    "done",
    "down",
    "due",
    "during",
    "each",
    "eg",
    "eight",
    "either",
    "eleven",
    "else",
    "elsewhere",
    "empty",
    "enough",
    "etc",
    "even",
    "ever",
    "every",
    "everyone",
    "everything",
    "everywhere",
    "except",
    "few",
    "fifteen",
    "fifty",
    "fill",
    "find",
    "fire",
    "first",
    "five",
    "for",
    "former",
    "formerly",
    "forty",
    "found",
    "four",
    "from",
    "front",
    "full",
    "further",
    "get",
    "give",
    "go",
    "had",
    "has",
    "hasnt",
    "have",
    "he",
    "hence",
    "her",
    "here",
    "hereafter",
    "hereby",
    "herein",
    "hereupon",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "however",
    "hundred",
    "i",
    "ie",
    "if",
    "in",
    "inc",
    "indeed",
    "interest",
    "into",
    "is",
    "it",
    "its",
    "itself",
    "keep",
    "last",
    "latter",
    "latterly",
    "least",
    "less",
    "ltd",
    "made",
    "many",
    "may",
    "me",
    "meanwhile",
    "might",
    "mill",
    "mine",
    "more",
    "moreover",
    "most",
    "mostly",
    "move",
    "much",
    "must",
    "my",
    "myself",
    "name",
    "namely",
    "neither",
    "never",
    "nevertheless",
    "next",
    "nine",
    "no",
    "nobody",
    "none",
    "noone",
    "nor",
    "not",
    "nothing",
    "now",
    "nowhere",
    "of",
    "off",
    "often",
    "on",
    "once",
    "one",
    "only",
    "onto",
    "or",
    "other",
    "others",
    "otherwise",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "part",
    "per",
    "perhaps",
    "please",
    "put",
    "rather",
    "re",
    "same",
    "see",
    "seem",
    "seemed",
    "seeming",
    "seems",
    "serious",
    "several",
    "she",
    "should",
    "show",
    "side",
    "since",
    "sincere",
    "six",
    "sixty",
    "so",
    "some",
    "somehow",
    "someone",
    "something",
    "sometime",
    "sometimes",
    "somewhere",
    "still",
    "such",
    "system",
    "take",
    "ten",
    "than",
    "that",
    "the",
    "their",
    "them",
    "themselves",
    "then",
    "thence",
    "there",
    "thereafter",
    "thereby",
    "therefore",
    "therein",
    "thereupon",
    "these",
    "they",
    "thick",
    "thin",
    "third",
    "this",
    "those",
    "though",
    "three",
    "through",
    "throughout",
    "thru",
    "thus",
    "to",
    "together",
    "too",
    "top",
    "toward",
    "towards",
    "twelve",
    "twenty",
    "two",
    "un",
    "under",
    "until",
    "up",
    "upon",
    "us",
    "very",
    "via",
    "was",
    "we",
    "well",
    "were",
    "what",
    "whatever",
    "when",
    "whence",
    "whenever",
    "where",
    "whereafter",
    "whereas",
    "whereby",
    "wherein",
    "whereupon",
    "wherever",
    "whether",
    "which",
    "while",
    "whither",
    "who",
    "whoever",
    "whole",
    "whom",
    "whose",
    "why",
    "will",
    "with",
    "within",
    "without",
    "would",
    "yet",
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(label: &str, name: &str, text: &str) -> Document {
        Document {
            name: format!("{label}/{name}"),
            label: label.into(),
            text: text.as_bytes().to_vec(),
        }
    }

    #[test]
    fn stop_words_are_sorted_for_binary_search() {
        assert!(STOP_WORDS.windows(2).all(|w| w[0] < w[1]));
        assert!(is_stop_word("the") && is_stop_word("yourselves") && !is_stop_word("hockey"));
    }

    #[test]
    fn tokens_are_lowercase_letter_runs_without_stop_words() {
        let mut t = Vec::new();
        tokenize(b"The Quick-brown fox2jumps, a b OVER caf\xe9s!", |w| {
            t.push(w.to_string())
        });
        assert_eq!(t, ["quick", "brown", "fox", "jumps", "caf"]);
    }

    #[test]
    fn headers_end_at_the_first_blank_line_or_double_tab() {
        assert_eq!(
            strip_header(b"From: a@b\tSubject: x\t\tbody text"),
            b"body text"
        );
        assert_eq!(strip_header(b"From: a@b\nSubject: x\n\nbody"), b"body");
        assert_eq!(
            strip_header(b"no header here: really\t\tkept"),
            b"no header here: really\t\tkept"
        );
        assert_eq!(strip_header(b"plain text"), b"plain text");
    }

    #[test]
    fn document_frequency_bounds_and_vocabulary_size() {
        let docs = vec![
            doc("a", "1", "apple banana cherry"),
            doc("a", "2", "apple banana"),
            doc("b", "3", "apple durian durian durian"),
            doc("b", "4", "apple banana"),
        ];
        let opts = |size, min_df, max_df| VocabularyOptions {
            size,
            min_df,
            max_df,
        };
        // apple is in 4/4 documents: dropped by max_df 0.8; cherry (1 doc) by min_df 2
        let v = Vocabulary::fit(&docs, opts(10, 2, 0.8)).unwrap();
        assert_eq!(v.words(), ["banana"]);
        let v = Vocabulary::fit(&docs, opts(10, 1, 1.0)).unwrap();
        assert_eq!(v.words(), ["apple", "banana", "cherry", "durian"]);
        // the two most frequent: apple (4), then banana and durian (3 each; banana first)
        let v = Vocabulary::fit(&docs, opts(2, 1, 1.0)).unwrap();
        assert_eq!(v.words(), ["apple", "banana"]);
        assert!(Vocabulary::fit(&docs, opts(10, 5, 1.0)).is_err());
    }

    #[test]
    fn counts_drop_short_documents_and_ignore_unknown_words() {
        let docs = vec![
            doc("x", "1", "zebra zebra yak unknown"),
            doc("y", "2", "yak"),
        ];
        let v = Vocabulary::new(vec!["zebra".into(), "yak".into()]);
        let bow = count(&docs, &v, 2).unwrap();
        assert_eq!(bow.dropped, 1);
        assert_eq!(bow.names, ["x/1"]);
        assert_eq!(bow.classes, ["x", "y"]);
        assert_eq!(bow.labels, [0]);
        // yak is column 0, zebra column 1
        assert_eq!(bow.counts.to_dense().as_slice(), &[1.0, 2.0]);
    }
}
