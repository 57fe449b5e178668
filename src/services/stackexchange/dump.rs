//! Reading a Stack Exchange data dump's XML files: one `<row …/>` element per record, streamed
//! with a pull parser (quick-xml), so a file never sits whole in memory. A row can be read
//! again later from its byte offset, which is what the importer's index keeps.
//!
//! Files start with a UTF-8 byte-order mark and often a `<!DOCTYPE … SYSTEM 'posts.dtd'>`
//! line: the DOCTYPE is skipped, never fetched, and only XML's own entities and character
//! references (`&#xA;`) are understood. Every error names the file, the line and, where
//! there is one, the field (`Posts.xml, line 12, CreationDate: …`).

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use agora_store::Timestamp;
use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

/// What is wrong with a dump, and where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct DumpError {
    pub file: String,
    /// 1-based; 0 when the file could not be opened at all.
    pub line: u64,
    pub field: Option<String>,
    pub message: String,
}

impl std::fmt::Display for DumpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file)?;
        if self.line > 0 {
            write!(f, ", line {}", self.line)?;
        }
        if let Some(field) = &self.field {
            write!(f, ", {field}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// One file of the dump (`Posts.xml`, …).
#[derive(Clone, Debug)]
pub struct DumpFile {
    pub name: String,
    pub path: PathBuf,
}

impl DumpFile {
    /// The file `name` in `dir` (matched without regard to case), if there is one.
    pub fn find(dir: &Path, name: &str) -> Option<DumpFile> {
        let exact = dir.join(name);
        if exact.is_file() {
            return Some(DumpFile {
                name: name.to_string(),
                path: exact,
            });
        }
        let entries = std::fs::read_dir(dir).ok()?;
        entries
            .filter_map(Result::ok)
            .find(|e| e.file_name().to_string_lossy().eq_ignore_ascii_case(name))
            .map(|e| DumpFile {
                name: e.file_name().to_string_lossy().into_owned(),
                path: e.path(),
            })
    }

    /// An error at byte `offset` of this file (the line is counted from the file itself).
    pub fn error_at(
        &self,
        offset: u64,
        field: Option<&str>,
        message: impl Into<String>,
    ) -> DumpError {
        DumpError {
            file: self.name.clone(),
            line: line_at(&self.path, offset),
            field: field.map(str::to_string),
            message: message.into(),
        }
    }

    fn unreadable(&self, err: &std::io::Error) -> DumpError {
        DumpError {
            file: self.name.clone(),
            line: 0,
            field: None,
            message: format!("cannot read {}: {err}", self.path.display()),
        }
    }

    /// Calls `each` with every row, in file order; returns how many there were. Stops at the
    /// first error, the callback's included.
    pub fn for_each_row(
        &self,
        mut each: impl FnMut(&Row<'_>) -> Result<(), DumpError>,
    ) -> Result<u64, DumpError> {
        let mut file = File::open(&self.path).map_err(|e| self.unreadable(&e))?;
        // The parser skips a byte-order mark and counts positions after it.
        let mut head = [0u8; 3];
        let bom = match file.read_exact(&mut head) {
            Ok(()) if head == [0xEF, 0xBB, 0xBF] => 3,
            _ => 0,
        };
        file.seek(SeekFrom::Start(0))
            .map_err(|e| self.unreadable(&e))?;
        let mut reader = Reader::from_reader(BufReader::with_capacity(1 << 16, file));
        let mut buf = Vec::new();
        let mut rows = 0;
        let mut depth = 0u32;
        loop {
            let event = reader.read_event_into(&mut buf).map_err(|e| {
                self.error_at(
                    bom + reader.error_position(),
                    None,
                    format!("not well-formed XML: {e}"),
                )
            })?;
            match event {
                Event::Eof => break,
                Event::Start(start) => {
                    if depth == 1 && start.name().as_ref() == b"row" {
                        // `<` + the tag's content + `>`
                        let offset = bom + reader.buffer_position() - start.len() as u64 - 2;
                        let row = Row::parse(self, offset, &start, &reader)?;
                        each(&row)?;
                        rows += 1;
                    }
                    depth += 1;
                }
                Event::End(_) => depth = depth.saturating_sub(1),
                Event::Empty(start) if depth == 1 && start.name().as_ref() == b"row" => {
                    // `<` + the tag's content + `/>`
                    let offset = bom + reader.buffer_position() - start.len() as u64 - 3;
                    let row = Row::parse(self, offset, &start, &reader)?;
                    each(&row)?;
                    rows += 1;
                }
                _ => {}
            }
            buf.clear();
        }
        if depth != 0 {
            return Err(self.error_at(
                bom + reader.buffer_position(),
                None,
                "the file ends inside an element (is it cut short?)",
            ));
        }
        Ok(rows)
    }
}

/// Reads single rows back by their byte offset (kept open between reads).
pub struct RowReader<'a> {
    file: &'a DumpFile,
    handle: File,
    buf: Vec<u8>,
}

impl<'a> RowReader<'a> {
    pub fn open(file: &'a DumpFile) -> Result<Self, DumpError> {
        let handle = File::open(&file.path).map_err(|e| file.unreadable(&e))?;
        Ok(Self {
            file,
            handle,
            buf: Vec::new(),
        })
    }

    /// The row starting at `offset` (an offset [`DumpFile::for_each_row`] gave).
    pub fn row_at(&mut self, offset: u64) -> Result<Row<'a>, DumpError> {
        let file = self.file;
        self.handle
            .seek(SeekFrom::Start(offset))
            .map_err(|e| file.unreadable(&e))?;
        let mut reader = Reader::from_reader(BufReader::new(&mut self.handle));
        self.buf.clear();
        loop {
            let event = reader.read_event_into(&mut self.buf).map_err(|e| {
                file.error_at(
                    offset + reader.error_position(),
                    None,
                    format!("not well-formed XML: {e}"),
                )
            })?;
            match event {
                Event::Empty(start) | Event::Start(start) if start.name().as_ref() == b"row" => {
                    let mut row = Row::parse(file, 0, &start, &reader)?;
                    row.offset = offset;
                    return Ok(row);
                }
                Event::Eof => {
                    return Err(file.error_at(offset, None, "the file changed while importing"));
                }
                _ => {}
            }
        }
    }
}

/// One record: its attributes, decoded and unescaped.
pub struct Row<'a> {
    pub file: &'a DumpFile,
    /// Where the row starts in its file.
    pub offset: u64,
    attrs: Vec<(String, String)>,
}

impl<'a> Row<'a> {
    fn parse<R>(
        file: &'a DumpFile,
        offset: u64,
        start: &BytesStart<'_>,
        reader: &Reader<R>,
    ) -> Result<Row<'a>, DumpError> {
        let mut attrs = Vec::new();
        for attr in start.attributes() {
            let attr =
                attr.map_err(|e| file.error_at(offset, None, format!("a bad attribute: {e}")))?;
            let key = String::from_utf8_lossy(attr.key.as_ref()).into_owned();
            let value = attr
                .decoded_and_normalized_value(XmlVersion::Implicit1_0, reader.decoder())
                .map_err(|e| file.error_at(offset, Some(&key), format!("cannot be read: {e}")))?
                .into_owned();
            attrs.push((key, value));
        }
        Ok(Row {
            file,
            offset,
            attrs,
        })
    }

    /// An error about this row's `field`.
    pub fn fail(&self, field: &str, message: impl Into<String>) -> DumpError {
        self.file.error_at(self.offset, Some(field), message)
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == field)
            .map(|(_, v)| v.as_str())
    }

    /// A field that must be there.
    pub fn text(&self, field: &str) -> Result<&str, DumpError> {
        self.get(field)
            .ok_or_else(|| self.fail(field, "is missing"))
    }

    pub fn opt_int(&self, field: &str) -> Result<Option<i64>, DumpError> {
        match self.get(field) {
            None => Ok(None),
            Some(text) if text.trim().is_empty() => Ok(None),
            Some(text) => text
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| self.fail(field, format!("{text:?} is not a whole number"))),
        }
    }

    pub fn int(&self, field: &str) -> Result<i64, DumpError> {
        self.opt_int(field)?
            .ok_or_else(|| self.fail(field, "is missing"))
    }

    pub fn opt_date(&self, field: &str) -> Result<Option<Timestamp>, DumpError> {
        match self.get(field) {
            None => Ok(None),
            Some(text) => parse_date(text).map(Some).ok_or_else(|| {
                self.fail(
                    field,
                    format!("{text:?} is not a date like 2011-10-11T19:42:20.713"),
                )
            }),
        }
    }

    pub fn date(&self, field: &str) -> Result<Timestamp, DumpError> {
        self.opt_date(field)?
            .ok_or_else(|| self.fail(field, "is missing"))
    }
}

/// A dump's time: `2011-10-11T19:42:20.713`, UTC (newer dumps may add a `Z`).
pub fn parse_date(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    let text = text.strip_suffix('Z').unwrap_or(text);
    let time = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
    Some(Timestamp::from_micros(time.and_utc().timestamp_micros()))
}

/// The 1-based line holding byte `offset` of the file at `path` (read only for an error).
fn line_at(path: &Path, offset: u64) -> u64 {
    let Ok(file) = File::open(path) else {
        return 0;
    };
    let mut lines = 1;
    let mut left = offset;
    let mut reader = BufReader::new(file);
    let mut chunk = [0u8; 1 << 16];
    while left > 0 {
        let want = chunk
            .len()
            .min(usize::try_from(left).unwrap_or(chunk.len()));
        let Ok(n) = reader.read(&mut chunk[..want]) else {
            break;
        };
        if n == 0 {
            break;
        }
        lines += chunk[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        left -= n as u64;
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_with(text: &str) -> (tempfile::TempDir, DumpFile) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("Posts.xml");
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
        let file = DumpFile {
            name: "Posts.xml".into(),
            path,
        };
        (dir, file)
    }

    const GOOD: &str = "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
        <!DOCTYPE posts SYSTEM 'posts.dtd'>\n<posts>\n  \
        <row Id=\"1\" Body=\"&lt;p&gt;a&lt;/p&gt;&#xA;b\" CreationDate=\"2011-10-11T19:42:20.713\" />\n  \
        <row Id=\"2\" Body=\"x\" CreationDate=\"2011-10-11T19:42:21\"></row>\n</posts>\n";

    #[test]
    fn rows_stream_and_read_back_by_offset() {
        let (_dir, file) = file_with(GOOD);
        let mut seen = Vec::new();
        let count = file
            .for_each_row(|row| {
                seen.push((row.int("Id")?, row.offset, row.text("Body")?.to_string()));
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(count, 2);
        assert_eq!(seen[0].2, "<p>a</p>\nb");
        assert_eq!(&GOOD.as_bytes()[seen[0].1 as usize..][..8], b"<row Id=");
        assert_eq!(&GOOD.as_bytes()[seen[1].1 as usize..][..8], b"<row Id=");
        let mut reader = RowReader::open(&file).unwrap_or_else(|e| panic!("{e}"));
        let row = reader.row_at(seen[1].1).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(row.int("Id").ok(), Some(2));
        let row = reader.row_at(seen[0].1).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            row.date("CreationDate").ok(),
            parse_date("2011-10-11T19:42:20.713")
        );
    }

    #[test]
    fn errors_name_the_file_line_and_field() {
        let (_dir, file) = file_with(&GOOD.replace("2011-10-11T19:42:21", "yesterday"));
        let err = file
            .for_each_row(|row| row.date("CreationDate").map(|_| ()))
            .err()
            .unwrap_or_else(|| panic!("a bad date must fail"));
        assert_eq!(err.line, 5);
        assert_eq!(err.field.as_deref(), Some("CreationDate"));
        assert!(
            err.to_string()
                .starts_with("Posts.xml, line 5, CreationDate: \"yesterday\"")
        );

        let (_dir, file) = file_with(&GOOD.replace("&#xA;", "&nope;"));
        let err = file.for_each_row(|_| Ok(())).err();
        assert_eq!(err.as_ref().map(|e| e.line), Some(4));
        assert_eq!(err.and_then(|e| e.field).as_deref(), Some("Body"));

        let (_dir, file) = file_with(&GOOD[..GOOD.len() - 20]);
        assert!(file.for_each_row(|_| Ok(())).is_err(), "a cut file fails");
    }

    #[test]
    fn dates() {
        assert!(parse_date("2011-10-11T19:42:20.713").is_some());
        assert!(parse_date("2011-10-11T19:42:20Z").is_some());
        assert!(parse_date("2011-13-11T19:42:20").is_none());
    }
}
