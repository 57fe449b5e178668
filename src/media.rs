//! Uploads made safe to store and serve: images decoded and re-encoded (orientation applied,
//! metadata dropped, size limits checked before decoding, thumbnails made), other files
//! checked against an allow-list by their content, and every refusal given a human message
//! and a stable code.
//!
//! Pure: no I/O, no async, no database. The caller runs it in `spawn_blocking` and stores
//! what it returns.

use std::fmt;
use std::io::Cursor;

use image::codecs::gif::{GifDecoder, GifEncoder, Repeat};
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, PngEncoder};
use image::codecs::webp::WebPEncoder;
use image::metadata::Orientation;
use image::{
    AnimationDecoder, DynamicImage, ExtendedColorType, Frame, GrayAlphaImage, GrayImage,
    ImageDecoder, ImageEncoder, ImageError, ImageFormat, ImageReader, Limits, RgbImage, RgbaImage,
};

/// The width a post shows an image at; thumbnails are made at 1× and 2× of it.
pub const DISPLAY_WIDTH: u32 = 800;
/// The thumbnail widths, each made only when the image is wider.
pub const THUMBNAIL_WIDTHS: [u32; 2] = [DISPLAY_WIDTH, 2 * DISPLAY_WIDTH];
/// The full-size stored image is scaled down only when a side is longer than this.
pub const MAX_STORED_SIDE: u32 = 4096;
/// The square sizes an avatar is made at.
pub const AVATAR_SIZES: [u32; 2] = [80, 160];

const JPEG_QUALITY_STORED: u8 = 85;
const JPEG_QUALITY_THUMBNAIL: u8 = 82;
/// NeuQuant's sampling factor for GIF frames with more than 256 colours (1 = slowest, best).
const GIF_SPEED: i32 = 10;
/// Zero or 0xFF bytes after a JPEG's end that some cameras and editors leave as padding.
const JPEG_PADDING: usize = 4096;
/// The largest colour profile kept (a display profile is a few KB; printer ones are larger).
const MAX_ICC_BYTES: usize = 256 * 1024;
/// The longest file name kept, in bytes (what most file systems allow).
const MAX_NAME_BYTES: usize = 255;
/// Strings that mark a web page or script hidden in an image (compared case-insensitively).
const MARKUP: [&[u8]; 6] = [
    b"<script",
    b"<html",
    b"<svg",
    b"<iframe",
    b"<body",
    b"javascript:",
];
/// Extensions checked as UTF-8 text.
const TEXT_EXTENSIONS: [&str; 11] = [
    "txt", "log", "crash", "ips", "md", "diff", "patch", "csv", "toml", "yaml", "yml",
];
/// Extensions that name an image this module decodes.
const IMAGE_EXTENSIONS: [&str; 6] = ["jpg", "jpeg", "png", "gif", "webp", "ico"];

/// What an upload may be. `Default` holds a developer forum's limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    /// The largest upload, in bytes.
    pub max_bytes: u64,
    /// The most pixels (width × height) an image may have.
    pub max_pixels: u64,
    /// The longest side an image may have, in pixels.
    pub max_side: u32,
    /// The most frames an animated GIF may have.
    pub max_frames: u32,
    /// The most pixels all of an animated GIF's frames may have together.
    pub max_frame_pixels: u64,
    /// The extensions accepted (lower case, without the dot).
    pub allowed: Vec<String>,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            max_bytes: 8 * 1024 * 1024,
            max_pixels: 40_000_000,
            max_side: 20_000,
            max_frames: 300,
            max_frame_pixels: 200_000_000,
            allowed: [
                "jpg", "jpeg", "png", "gif", "webp", "txt", "log", "crash", "ips", "json", "zip",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
        }
    }
}

/// Whether an accepted upload is an image (shown) or a file (served as an attachment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Image,
    File,
}

/// An accepted upload, ready to store.
#[derive(Debug, Clone)]
pub struct Checked {
    pub kind: Kind,
    /// The uploaded name, trimmed (never rewritten otherwise).
    pub name: String,
    /// The stored bytes' extension, lower case: the real format's for an image
    /// (`jpg`, `png`, `gif`, `webp`), the name's for a file.
    pub extension: String,
    pub content_type: String,
    /// A re-encoded image, or a file byte for byte as uploaded.
    pub bytes: Vec<u8>,
    /// The stored image's size (0 for a file).
    pub width: u32,
    pub height: u32,
    /// An animated GIF kept animated.
    pub animated: bool,
    /// Smaller copies, narrowest first; none for a file or a narrow image.
    pub thumbnails: Vec<Thumbnail>,
}

/// One smaller still copy of an image, in whichever format came out smaller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumbnail {
    pub width: u32,
    pub height: u32,
    pub content_type: String,
    pub extension: String,
    pub bytes: Vec<u8>,
}

/// Why an upload was refused. `Display` is the message for the person uploading; `code()`
/// is stable for programs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The file has no bytes.
    Empty,
    /// The file is larger than `limit` bytes.
    TooLarge { size: u64, limit: u64 },
    /// The name could escape a folder or hide what it is.
    BadName { why: &'static str },
    /// The extension is not on the allow-list.
    TypeNotAllowed {
        extension: String,
        allowed: Vec<String>,
        actually: Option<String>,
    },
    /// The content is not what the extension says (or, with no extension, not an image).
    NotWhatItSays { extension: String, actually: String },
    /// The content is cut short or broken.
    Damaged { why: String },
    /// The image is larger than the limits (checked before decoding).
    TooManyPixels {
        width: u32,
        height: u32,
        max_pixels: u64,
        max_side: u32,
    },
    /// The animation has too many frames, or too many pixels in all.
    TooManyFrames {
        frames: u32,
        max_frames: u32,
        pixels: u64,
        max_pixels: u64,
    },
    /// Web page code or script inside an image.
    Script { found: String },
    /// An SVG image, which can carry script.
    Svg,
    /// Other data after the image's end (a polyglot file).
    HiddenData { format: &'static str, after: String },
    /// The image was read but could not be written again.
    Unconvertible,
}

impl Refusal {
    /// A stable machine-readable code for this refusal.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Empty => "empty",
            Refusal::TooLarge { .. } => "too_large",
            Refusal::BadName { .. } => "bad_name",
            Refusal::TypeNotAllowed { .. } => "type_not_allowed",
            Refusal::NotWhatItSays { .. } => "not_what_it_says",
            Refusal::Damaged { .. } => "damaged",
            Refusal::TooManyPixels { .. } => "too_many_pixels",
            Refusal::TooManyFrames { .. } => "too_many_frames",
            Refusal::Script { .. } => "script",
            Refusal::Svg => "svg",
            Refusal::HiddenData { .. } => "hidden_data",
            Refusal::Unconvertible => "unconvertible",
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Empty => write!(f, "This file is empty."),
            Refusal::TooLarge { size, limit } => write!(
                f,
                "This file is {}; files may be at most {}.",
                human_bytes(*size),
                human_bytes(*limit)
            ),
            Refusal::BadName { why } => {
                write!(f, "This file name {why}; rename the file and try again.")
            }
            Refusal::TypeNotAllowed {
                extension,
                allowed,
                actually,
            } => {
                if extension.is_empty() {
                    write!(f, "This file name has no extension")?;
                } else {
                    write!(f, "Files ending in .{extension} are not accepted")?;
                }
                if let Some(actually) = actually {
                    write!(f, " (this is {actually})")?;
                }
                write!(f, "; accepted: {}.", allowed.join(", "))
            }
            Refusal::NotWhatItSays {
                extension,
                actually,
            } => {
                if extension.is_empty() {
                    write!(f, "This is {actually}, not a PNG, JPEG, GIF or WebP image.")
                } else {
                    write!(f, "This file is named .{extension} but it is {actually}.")
                }
            }
            Refusal::Damaged { why } => write!(f, "This file is damaged: {why}."),
            Refusal::TooManyPixels {
                width,
                height,
                max_pixels,
                max_side,
            } => write!(
                f,
                "This image is {width}×{height} pixels; images may be at most {} megapixels \
                 and {max_side} pixels on a side.",
                megapixels(*max_pixels)
            ),
            Refusal::TooManyFrames {
                frames,
                max_frames,
                pixels,
                max_pixels,
            } => {
                if frames > max_frames {
                    write!(
                        f,
                        "This animation has {frames} frames; animations may have at most \
                         {max_frames}."
                    )
                } else {
                    write!(
                        f,
                        "This animation has {} megapixels in all its frames; animations may \
                         have at most {} megapixels in all.",
                        megapixels(*pixels),
                        megapixels(*max_pixels)
                    )
                }
            }
            Refusal::Script { found } => write!(
                f,
                "This image has web page code hidden in it (“{found}”); upload a clean copy, \
                 such as a fresh screenshot."
            ),
            Refusal::Svg => write!(
                f,
                "SVG images are not accepted, since they can carry script; export it as PNG."
            ),
            Refusal::HiddenData { format, after } => write!(
                f,
                "This {format} image has {after} hidden after its end; upload the image on \
                 its own."
            ),
            Refusal::Unconvertible => write!(f, "This image could not be converted."),
        }
    }
}

impl std::error::Error for Refusal {}

/// Checks an upload named `name` against `rules`: an image comes back re-encoded with its
/// thumbnails, any other file byte for byte once its content agrees with its extension.
pub fn check(name: &str, bytes: &[u8], rules: &Rules) -> Result<Checked, Refusal> {
    let name = clean_name(name)?;
    let extension = extension_of(&name);
    check_size(bytes, rules)?;
    if is_svg(bytes) {
        return Err(Refusal::Svg);
    }
    if !rules
        .allowed
        .iter()
        .any(|a| a.eq_ignore_ascii_case(&extension))
    {
        return Err(Refusal::TypeNotAllowed {
            extension,
            allowed: rules.allowed.clone(),
            actually: describe(bytes),
        });
    }
    let format = image_format(bytes);
    let named_image = IMAGE_EXTENSIONS.contains(&extension.as_str());
    match (named_image, format) {
        (true, Some(format)) => check_image(name, bytes, format, rules),
        (true, None) => Err(Refusal::NotWhatItSays {
            extension,
            actually: describe(bytes).map_or_else(
                || "not an image".to_string(),
                |what| format!("{what}, not an image this forum takes (PNG, JPEG, GIF, WebP)"),
            ),
        }),
        (false, Some(format)) => Err(Refusal::NotWhatItSays {
            extension,
            actually: format!("{} image", format_name(format)),
        }),
        (false, None) => check_file(name, extension, bytes),
    }
}

/// Makes an avatar from an uploaded image: the centre square at each of [`AVATAR_SIZES`],
/// as PNG or lossless WebP, whichever is smaller. An animation gives its first frame.
pub fn avatar(bytes: &[u8], rules: &Rules) -> Result<Vec<Thumbnail>, Refusal> {
    check_size(bytes, rules)?;
    if is_svg(bytes) {
        return Err(Refusal::Svg);
    }
    let Some(format) = image_format(bytes) else {
        return Err(Refusal::NotWhatItSays {
            extension: String::new(),
            actually: describe(bytes).unwrap_or_else(|| "unrecognised data".into()),
        });
    };
    let shape = inspect(bytes, format, rules)?;
    let (image, icc) = decode_still(bytes, format, &shape, rules)?;
    AVATAR_SIZES
        .iter()
        .map(|&size| {
            let square = resized(&image, size, size, Fit::CropCentre)?;
            smaller_of(&square, Family::Png, icc.as_deref())
        })
        .collect()
}

fn check_size(bytes: &[u8], rules: &Rules) -> Result<(), Refusal> {
    if bytes.is_empty() {
        return Err(Refusal::Empty);
    }
    let size = bytes.len() as u64;
    if size > rules.max_bytes {
        return Err(Refusal::TooLarge {
            size,
            limit: rules.max_bytes,
        });
    }
    Ok(())
}

/// The uploaded name trimmed, or why it cannot be a plain file name.
fn clean_name(name: &str) -> Result<String, Refusal> {
    let name = name.trim();
    let refuse = |why| Err(Refusal::BadName { why });
    if name.is_empty() {
        return refuse("is empty");
    }
    if name.len() > MAX_NAME_BYTES {
        return refuse("is longer than 255 bytes");
    }
    if name.contains(['/', '\\']) {
        return refuse("holds a folder path (/ or \\)");
    }
    if name.chars().all(|c| c == '.') {
        return refuse("is only dots");
    }
    if name.chars().any(char::is_control) {
        return refuse("holds control characters");
    }
    // A right-to-left override (U+202E) makes "photo<U+202E>gnp.exe" read as "photoexe.png".
    if name
        .chars()
        .any(|c| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'))
    {
        return refuse("holds text-direction characters");
    }
    Ok(name.to_string())
}

/// The name's extension in lower case, or "" when it has none.
fn extension_of(name: &str) -> String {
    match name.rsplit_once('.') {
        Some((stem, extension)) if !stem.is_empty() => extension.to_lowercase(),
        _ => String::new(),
    }
}

/// A file that is not an image: its content must agree with its extension.
fn check_file(name: String, extension: String, bytes: &[u8]) -> Result<Checked, Refusal> {
    let not_it = |actually: String| Refusal::NotWhatItSays {
        extension: extension.clone(),
        actually,
    };
    let content_type = if TEXT_EXTENSIONS.contains(&extension.as_str()) {
        utf8_text(bytes).map_err(not_it)?;
        "text/plain; charset=utf-8".to_string()
    } else if extension == "json" {
        let text = utf8_text(bytes).map_err(not_it)?;
        let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
        serde_json::from_str::<serde::de::IgnoredAny>(text).map_err(|e| Refusal::Damaged {
            why: format!(
                "it is not valid JSON (line {}, column {})",
                e.line(),
                e.column()
            ),
        })?;
        "application/json".to_string()
    } else if extension == "zip" {
        if !infer::archive::is_zip(bytes) {
            return Err(not_it(
                describe(bytes).unwrap_or_else(|| "not a ZIP archive".into()),
            ));
        }
        "application/zip".to_string()
    } else {
        // Allowed by the caller but with no rule here: the sniffed type must agree.
        match infer::get(bytes) {
            Some(kind) if kind.extension() == extension => kind.mime_type().to_string(),
            _ => {
                return Err(not_it(describe(bytes).unwrap_or_else(|| {
                    format!("not something recognisable as .{extension}")
                })));
            }
        }
    };
    Ok(Checked {
        kind: Kind::File,
        name,
        extension,
        content_type,
        bytes: bytes.to_vec(),
        width: 0,
        height: 0,
        animated: false,
        thumbnails: Vec::new(),
    })
}

/// The bytes as UTF-8 text without NUL bytes, or what they are instead.
fn utf8_text(bytes: &[u8]) -> Result<&str, String> {
    let describe_or = |fallback: &str| describe(bytes).unwrap_or_else(|| fallback.to_string());
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err("UTF-16 text (save it as UTF-8)".into());
    }
    if bytes.contains(&0) {
        return Err(describe_or("binary data, not text"));
    }
    std::str::from_utf8(bytes).map_err(|_| describe_or("not UTF-8 text (save it as UTF-8)"))
}

/// An image format this module decodes, sniffed from the content.
fn image_format(bytes: &[u8]) -> Option<ImageFormat> {
    match image::guess_format(bytes).ok()? {
        format @ (ImageFormat::Png
        | ImageFormat::Jpeg
        | ImageFormat::Gif
        | ImageFormat::WebP
        | ImageFormat::Ico) => Some(format),
        _ => None,
    }
}

fn format_name(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Png => "PNG",
        ImageFormat::Jpeg => "JPEG",
        ImageFormat::Gif => "GIF",
        ImageFormat::WebP => "WebP",
        ImageFormat::Ico => "ICO",
        _ => "other",
    }
}

/// What the bytes really are, for a message ("a PDF document"), when that can be told.
fn describe(bytes: &[u8]) -> Option<String> {
    if let Some(format) = image_format(bytes) {
        return Some(format!("a {} image", format_name(format)));
    }
    if is_svg(bytes) {
        return Some("an SVG image".into());
    }
    let kind = infer::get(bytes)?;
    let what = match kind.extension() {
        "pdf" => "a PDF document",
        "exe" | "dll" => "a Windows program",
        "elf" => "a Linux program",
        "mach" => "a macOS program",
        "zip" => "a ZIP archive",
        "gz" => "a gzip archive",
        "7z" => "a 7-Zip archive",
        "rar" => "a RAR archive",
        "tar" => "a tar archive",
        "html" => "a web page",
        "xml" => "an XML document",
        "sh" => "a shell script",
        "doc" | "docx" => "a Word document",
        "xls" | "xlsx" => "an Excel spreadsheet",
        "heif" | "avif" | "jxl" | "bmp" | "tif" | "psd" => {
            return Some(format!("a {} image", kind.extension().to_ascii_uppercase()));
        }
        "mp4" | "mov" | "webm" | "mkv" | "avi" => "a video",
        other => return Some(format!("a {} file", other.to_ascii_uppercase())),
    };
    Some(what.into())
}

/// Whether the content is an SVG document, whatever it is named: its first element (after
/// any XML declaration, comments and doctype) is `<svg`.
fn is_svg(bytes: &[u8]) -> bool {
    let head = bytes.get(..bytes.len().min(64 * 1024)).unwrap_or(bytes);
    let mut rest = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    loop {
        let start = rest.iter().position(|b| !b.is_ascii_whitespace());
        rest = start.and_then(|i| rest.get(i..)).unwrap_or_default();
        let close: &[u8] = if rest.starts_with(b"<?") {
            b"?>"
        } else if rest.starts_with(b"<!--") {
            b"-->"
        } else if rest.starts_with(b"<!") {
            // A doctype, perhaps with an internal subset in brackets.
            let subset = rest.iter().position(|&b| b == b'[');
            let end = rest.iter().position(|&b| b == b'>');
            if subset.is_some_and(|open| end.is_none_or(|end| open < end)) {
                b"]>"
            } else {
                b">"
            }
        } else {
            break;
        };
        let Some(end) = find_ignore_case(rest, close) else {
            return false;
        };
        rest = rest.get(end + close.len()..).unwrap_or_default();
    }
    rest.get(..4)
        .is_some_and(|tag| tag.eq_ignore_ascii_case(b"<svg"))
}

fn find_ignore_case(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let first = needle.first()?.to_ascii_lowercase();
    haystack
        .iter()
        .enumerate()
        .filter(|(_, b)| b.to_ascii_lowercase() == first)
        .map(|(i, _)| i)
        .find(|&i| {
            haystack
                .get(i..i + needle.len())
                .is_some_and(|window| window.eq_ignore_ascii_case(needle))
        })
}

/// The first web-page or script marker in the bytes, if any.
fn markup_in(bytes: &[u8]) -> Option<&'static str> {
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'<' || b == b'j' || b == b'J' {
            for marker in MARKUP {
                let hit = bytes
                    .get(i..i + marker.len())
                    .is_some_and(|window| window.eq_ignore_ascii_case(marker));
                if hit {
                    return std::str::from_utf8(marker).ok();
                }
            }
        }
    }
    None
}

/// An image's size and frame count read from its container, before any decoding.
#[derive(Debug, Clone, Copy)]
struct Shape {
    width: u32,
    height: u32,
    frames: u32,
}

/// Reads an image's container without decoding pixels: refuses markup, data after the end,
/// a container cut short, and sizes beyond the rules.
fn inspect(bytes: &[u8], format: ImageFormat, rules: &Rules) -> Result<Shape, Refusal> {
    if let Some(found) = markup_in(bytes) {
        return Err(Refusal::Script {
            found: found.into(),
        });
    }
    let shape = match format {
        ImageFormat::Png => png_shape(bytes)?,
        ImageFormat::Gif => gif_shape(bytes, rules)?,
        ImageFormat::Jpeg => jpeg_shape(bytes)?,
        ImageFormat::WebP => webp_shape(bytes)?,
        _ => ico_shape(bytes)?,
    };
    // WebP and ICO sizes come from the decoder's header read (still before decoding).
    let shape = match shape {
        Some(shape) => shape,
        None => {
            let reader = ImageReader::with_format(Cursor::new(bytes), format);
            let (width, height) = reader.into_dimensions().map_err(|e| damaged(&e))?;
            Shape {
                width,
                height,
                frames: 1,
            }
        }
    };
    check_pixels(shape.width, shape.height, rules)?;
    if shape.frames > 1 {
        let pixels = u64::from(shape.frames) * u64::from(shape.width) * u64::from(shape.height);
        if shape.frames > rules.max_frames || pixels > rules.max_frame_pixels {
            return Err(Refusal::TooManyFrames {
                frames: shape.frames,
                max_frames: rules.max_frames,
                pixels,
                max_pixels: rules.max_frame_pixels,
            });
        }
    }
    Ok(shape)
}

fn check_pixels(width: u32, height: u32, rules: &Rules) -> Result<(), Refusal> {
    let too_many = u64::from(width) * u64::from(height) > rules.max_pixels
        || width > rules.max_side
        || height > rules.max_side;
    if too_many {
        return Err(Refusal::TooManyPixels {
            width,
            height,
            max_pixels: rules.max_pixels,
            max_side: rules.max_side,
        });
    }
    if width == 0 || height == 0 {
        return Err(cut("it claims to have no pixels"));
    }
    Ok(())
}

fn cut(why: &str) -> Refusal {
    Refusal::Damaged { why: why.into() }
}

fn damaged(error: &ImageError) -> Refusal {
    match error {
        ImageError::Limits(_) => cut("it needs more memory to decode than allowed"),
        _ => cut("the image could not be decoded (it may be cut short)"),
    }
}

/// Refuses anything after an image's end but up to `padding` zero or 0xFF bytes.
fn nothing_after(format: &'static str, after: &[u8], padding: usize) -> Result<(), Refusal> {
    let padded = after
        .iter()
        .take(padding)
        .take_while(|&&b| b == 0 || b == 0xFF)
        .count();
    let hidden = after.get(padded..).unwrap_or_default();
    if hidden.is_empty() {
        return Ok(());
    }
    Err(Refusal::HiddenData {
        format,
        after: describe(hidden).unwrap_or_else(|| format!("{} bytes of other data", hidden.len())),
    })
}

fn be_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at + 4)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn be_u16(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at + 2)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

fn le_u16(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at + 2)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

fn le_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at + 4)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Walks a PNG's chunks to IEND: the size from IHDR, nothing allowed after IEND.
fn png_shape(bytes: &[u8]) -> Result<Option<Shape>, Refusal> {
    let short = || cut("the PNG is cut short (it has no end chunk)");
    let mut at = 8;
    let mut size = None;
    loop {
        let length = be_u32(bytes, at).ok_or_else(short)? as usize;
        let kind = bytes.get(at + 4..at + 8).ok_or_else(short)?;
        let end = at
            .checked_add(12)
            .and_then(|n| n.checked_add(length))
            .filter(|&end| end <= bytes.len())
            .ok_or_else(short)?;
        if at == 8 {
            if kind != b"IHDR" || length != 13 {
                return Err(cut("the PNG does not start with its header chunk"));
            }
            let width = be_u32(bytes, at + 8).ok_or_else(short)?;
            let height = be_u32(bytes, at + 12).ok_or_else(short)?;
            size = Some((width, height));
        }
        if kind == b"IEND" {
            nothing_after("PNG", bytes.get(end..).unwrap_or_default(), 0)?;
            return Ok(size.map(|(width, height)| Shape {
                width,
                height,
                frames: 1,
            }));
        }
        at = end;
    }
}

/// Walks a GIF's blocks to its trailer, counting frames; nothing allowed after the trailer.
fn gif_shape(bytes: &[u8], rules: &Rules) -> Result<Option<Shape>, Refusal> {
    let short = || cut("the GIF is cut short (it has no end marker)");
    let width = le_u16(bytes, 6).ok_or_else(short)?;
    let height = le_u16(bytes, 8).ok_or_else(short)?;
    let flags = *bytes.get(10).ok_or_else(short)?;
    let palette = |flags: u8| {
        if flags & 0x80 != 0 {
            3 << ((flags & 7) + 1)
        } else {
            0
        }
    };
    let mut at = 13 + palette(flags);
    let mut frames = 0u32;
    let skip_sub_blocks = |mut at: usize| -> Result<usize, Refusal> {
        loop {
            let size = usize::from(*bytes.get(at).ok_or_else(short)?);
            at += 1 + size;
            if size == 0 {
                return Ok(at);
            }
        }
    };
    loop {
        match *bytes.get(at).ok_or_else(short)? {
            0x21 => at = skip_sub_blocks(at + 2)?,
            0x2C => {
                // Each frame is decoded into a buffer of its own size: bound it too.
                let frame_width = le_u16(bytes, at + 5).ok_or_else(short)?;
                let frame_height = le_u16(bytes, at + 7).ok_or_else(short)?;
                check_pixels(
                    u32::from(frame_width).max(1),
                    u32::from(frame_height).max(1),
                    rules,
                )?;
                let flags = *bytes.get(at + 9).ok_or_else(short)?;
                frames = frames.saturating_add(1);
                at = skip_sub_blocks(at + 10 + palette(flags) + 1)?;
            }
            0x3B => {
                nothing_after("GIF", bytes.get(at + 1..).unwrap_or_default(), 0)?;
                if frames == 0 {
                    return Err(cut("the GIF has no pictures in it"));
                }
                return Ok(Some(Shape {
                    width: u32::from(width),
                    height: u32::from(height),
                    frames,
                }));
            }
            _ => return Err(cut("the GIF's blocks are broken")),
        }
    }
}

/// Walks a JPEG's segments and entropy-coded data to its end marker (EOI). After it, only
/// padding and further whole JPEGs (the gain map or depth map phones append) are allowed.
fn jpeg_shape(bytes: &[u8]) -> Result<Option<Shape>, Refusal> {
    let (size, mut at) = jpeg_end(bytes, 0)?;
    let (width, height) = size.ok_or_else(|| cut("the JPEG has no frame header"))?;
    loop {
        let rest = bytes.get(at..).unwrap_or_default();
        let padding = rest
            .iter()
            .enumerate()
            .take(JPEG_PADDING)
            .take_while(|&(i, &b)| (b == 0 || b == 0xFF) && !rest.get(i..).is_some_and(starts_jpeg))
            .count();
        if rest.get(padding..).is_some_and(starts_jpeg) {
            at = jpeg_end(bytes, at + padding)?.1;
            continue;
        }
        nothing_after("JPEG", rest, JPEG_PADDING)?;
        return Ok(Some(Shape {
            width: u32::from(width),
            height: u32::from(height),
            frames: 1,
        }));
    }
}

fn starts_jpeg(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0xFF, 0xD8, 0xFF])
}

/// The frame size and the offset just past EOI of the JPEG starting at `start`.
#[allow(clippy::type_complexity)]
fn jpeg_end(bytes: &[u8], start: usize) -> Result<(Option<(u16, u16)>, usize), Refusal> {
    let short = || cut("the JPEG is cut short (it has no end marker)");
    if bytes.get(start..start + 2) != Some(&[0xFF, 0xD8][..]) {
        return Err(cut("the JPEG does not start as one"));
    }
    let mut at = start + 2;
    let mut size = None;
    loop {
        if *bytes.get(at).ok_or_else(short)? != 0xFF {
            return Err(cut("the JPEG's segments are broken"));
        }
        while *bytes.get(at).ok_or_else(short)? == 0xFF {
            at += 1;
        }
        let marker = *bytes.get(at).ok_or_else(short)?;
        at += 1;
        match marker {
            0xD9 => return Ok((size, at)),
            0x01 | 0xD0..=0xD7 => continue,
            0xD8 | 0x00 => return Err(cut("the JPEG's segments are broken")),
            _ => {}
        }
        let length = usize::from(be_u16(bytes, at).ok_or_else(short)?);
        if length < 2 {
            return Err(cut("the JPEG's segments are broken"));
        }
        let is_frame = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_frame && size.is_none() {
            let height = be_u16(bytes, at + 3).ok_or_else(short)?;
            let width = be_u16(bytes, at + 5).ok_or_else(short)?;
            size = Some((width, height));
        }
        at += length;
        if at > bytes.len() {
            return Err(short());
        }
        if marker == 0xDA {
            // Entropy-coded data runs to the next marker that is not a stuffed zero or a
            // restart marker.
            loop {
                let ff = bytes
                    .get(at..)
                    .and_then(|rest| rest.iter().position(|&b| b == 0xFF))
                    .ok_or_else(short)?;
                at += ff;
                match *bytes.get(at + 1).ok_or_else(short)? {
                    0x00 | 0xD0..=0xD7 => at += 2,
                    0xFF => at += 1,
                    _ => break,
                }
            }
        }
    }
}

/// Checks a WebP's RIFF length against the file: shorter is cut, longer hides data.
fn webp_shape(bytes: &[u8]) -> Result<Option<Shape>, Refusal> {
    let riff = le_u32(bytes, 4).ok_or_else(|| cut("the WebP is cut short"))? as usize;
    let end = riff.saturating_add(8);
    if bytes.len() < end {
        return Err(cut("the WebP is cut short"));
    }
    nothing_after("WebP", bytes.get(end..).unwrap_or_default(), 0)?;
    Ok(None)
}

/// Checks an ICO's directory against the file: every entry inside, nothing after the last.
fn ico_shape(bytes: &[u8]) -> Result<Option<Shape>, Refusal> {
    let short = || cut("the icon is cut short");
    let count = usize::from(le_u16(bytes, 4).ok_or_else(short)?);
    if count == 0 {
        return Err(cut("the icon has no pictures in it"));
    }
    let mut end = 6 + 16 * count;
    for entry in 0..count {
        let at = 6 + 16 * entry;
        let size = le_u32(bytes, at + 8).ok_or_else(short)? as usize;
        let offset = le_u32(bytes, at + 12).ok_or_else(short)? as usize;
        end = end.max(offset.saturating_add(size));
    }
    if bytes.len() < end {
        return Err(short());
    }
    nothing_after("ICO", bytes.get(end..).unwrap_or_default(), 0)?;
    Ok(None)
}

/// Decoder limits: the rules' sides, and memory for the largest allowed picture (16-bit
/// RGBA) with a little room for the decoder's own buffers.
fn limits(rules: &Rules) -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(rules.max_side);
    limits.max_image_height = Some(rules.max_side);
    limits.max_alloc = Some(rules.max_pixels.saturating_mul(8) + 64 * 1024 * 1024);
    limits
}

/// Decodes the first picture, turned upright, in 8-bit colour; also its ICC colour profile.
fn decode_still(
    bytes: &[u8],
    format: ImageFormat,
    shape: &Shape,
    rules: &Rules,
) -> Result<(DynamicImage, Option<Vec<u8>>), Refusal> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits(rules));
    let mut decoder = reader.into_decoder().map_err(|e| damaged(&e))?;
    let (width, height) = decoder.dimensions();
    check_pixels(width, height, rules)?;
    if format != ImageFormat::Ico && (width, height) != (shape.width, shape.height) {
        return Err(cut("the image's headers disagree about its size"));
    }
    // Read before decoding: re-encoding drops EXIF, so the pixels must be turned first.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let icc = decoder
        .icc_profile()
        .ok()
        .flatten()
        .filter(|icc| plausible_icc(icc));
    let mut image = DynamicImage::from_decoder(decoder).map_err(|e| damaged(&e))?;
    image.apply_orientation(orientation);
    Ok((eight_bit(image), icc))
}

/// Whether an embedded colour profile may be copied into the re-encoded image: it must look
/// like an ICC profile and be of a profile's size, and it must not hide an archive (JPEG and
/// WebP store it uncompressed, and a ZIP reader looks for its directory near the file's end).
fn plausible_icc(icc: &[u8]) -> bool {
    let declared = be_u32(icc, 0).map(|n| n as usize);
    declared == Some(icc.len())
        && icc.len() <= MAX_ICC_BYTES
        && icc.get(36..40) == Some(&b"acsp"[..])
        && !icc
            .windows(4)
            .any(|word| matches!(word, b"PK\x01\x02" | b"PK\x03\x04" | b"PK\x05\x06"))
}

/// 8-bit grey or RGB, with alpha only when some pixel is not opaque.
fn eight_bit(image: DynamicImage) -> DynamicImage {
    let image = match image {
        DynamicImage::ImageLuma8(_)
        | DynamicImage::ImageLumaA8(_)
        | DynamicImage::ImageRgb8(_)
        | DynamicImage::ImageRgba8(_) => image,
        other if other.color().has_color() => {
            if other.color().has_alpha() {
                DynamicImage::ImageRgba8(other.to_rgba8())
            } else {
                DynamicImage::ImageRgb8(other.to_rgb8())
            }
        }
        other => {
            if other.color().has_alpha() {
                DynamicImage::ImageLumaA8(other.to_luma_alpha8())
            } else {
                DynamicImage::ImageLuma8(other.to_luma8())
            }
        }
    };
    match &image {
        DynamicImage::ImageRgba8(rgba) if rgba.pixels().all(|p| p.0[3] == 255) => {
            DynamicImage::ImageRgb8(image.to_rgb8())
        }
        DynamicImage::ImageLumaA8(la) if la.pixels().all(|p| p.0[1] == 255) => {
            DynamicImage::ImageLuma8(image.to_luma8())
        }
        _ => image,
    }
}

/// The formats an image is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Jpeg(u8),
    Png,
    Gif,
    WebP,
}

impl Family {
    fn content_type(self) -> &'static str {
        match self {
            Family::Jpeg(_) => "image/jpeg",
            Family::Png => "image/png",
            Family::Gif => "image/gif",
            Family::WebP => "image/webp",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Family::Jpeg(_) => "jpg",
            Family::Png => "png",
            Family::Gif => "gif",
            Family::WebP => "webp",
        }
    }
}

fn check_image(
    name: String,
    bytes: &[u8],
    format: ImageFormat,
    rules: &Rules,
) -> Result<Checked, Refusal> {
    let shape = inspect(bytes, format, rules)?;
    let stored_family = match format {
        ImageFormat::Jpeg => Family::Jpeg(JPEG_QUALITY_STORED),
        ImageFormat::Gif => Family::Gif,
        ImageFormat::WebP => Family::WebP,
        _ => Family::Png,
    };
    let thumbnail_family = match format {
        ImageFormat::Jpeg => Family::Jpeg(JPEG_QUALITY_THUMBNAIL),
        _ => Family::Png,
    };
    let (stored, still, icc, animated) = if format == ImageFormat::Gif && shape.frames > 1 {
        let (stored, first, frames) = reencode_animation(bytes, rules)?;
        (stored, DynamicImage::ImageRgba8(first), None, frames > 1)
    } else {
        let (image, icc) = decode_still(bytes, format, &shape, rules)?;
        let scaled = fit(image, MAX_STORED_SIDE)?;
        let stored = Rendition {
            bytes: encode(&scaled, stored_family, icc.as_deref())?,
            width: scaled.width(),
            height: scaled.height(),
        };
        (stored, scaled, icc, false)
    };
    let (width, height) = (still.width(), still.height());
    // Each from the stored image (resizing is cheap), never wider than it.
    let thumbnails = THUMBNAIL_WIDTHS
        .iter()
        .filter(|&&target| target < width)
        .map(|&target| {
            let target_height = scaled_side(height, target, width);
            let thumbnail = resized(&still, target, target_height, Fit::Stretch)?;
            smaller_of(&thumbnail, thumbnail_family, icc.as_deref())
        })
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        // A copy no lighter than the whole image (a flat screenshot can compress that well)
        // would only cost a request: the page shows the whole image instead.
        .filter(|thumbnail| thumbnail.bytes.len() < stored.bytes.len())
        .collect();
    Ok(Checked {
        kind: Kind::Image,
        name,
        extension: stored_family.extension().into(),
        content_type: stored_family.content_type().into(),
        bytes: stored.bytes,
        width: stored.width,
        height: stored.height,
        animated,
        thumbnails,
    })
}

struct Rendition {
    bytes: Vec<u8>,
    width: u32,
    height: u32,
}

/// `side` scaled by `to / from`, rounded, at least 1.
fn scaled_side(side: u32, to: u32, from: u32) -> u32 {
    let scaled = (u64::from(side) * u64::from(to) + u64::from(from) / 2) / u64::from(from.max(1));
    u32::try_from(scaled).unwrap_or(u32::MAX).max(1)
}

/// A size scaled down (keeping its shape) so neither side is longer than `max_side`.
fn fitted_size(width: u32, height: u32, max_side: u32) -> (u32, u32) {
    if width <= max_side && height <= max_side {
        (width, height)
    } else if width >= height {
        (max_side, scaled_side(height, max_side, width))
    } else {
        (scaled_side(width, max_side, height), max_side)
    }
}

/// The image scaled down (keeping its shape) so neither side is longer than `max_side`.
fn fit(image: DynamicImage, max_side: u32) -> Result<DynamicImage, Refusal> {
    let (width, height) = fitted_size(image.width(), image.height(), max_side);
    if (width, height) == (image.width(), image.height()) {
        return Ok(image);
    }
    resized(&image, width, height, Fit::Stretch)
}

/// How a picture fills a new size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fit {
    /// The whole picture, to exactly the new size (callers keep its shape).
    Stretch,
    /// The largest centred part with the new size's shape.
    CropCentre,
}

/// The picture resized with a Catmull-Rom filter (sharp, little ringing), alpha-weighted.
/// `fast_image_resize` does this 10–15× faster than `image::imageops` (SIMD): 15 ms
/// instead of 130–210 ms from 12 megapixels to 1600 wide on this project's machine.
fn resized(
    image: &DynamicImage,
    width: u32,
    height: u32,
    how: Fit,
) -> Result<DynamicImage, Refusal> {
    use fast_image_resize::images::{Image, ImageRef};
    use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
    let pixel_type = match image {
        DynamicImage::ImageLuma8(_) => PixelType::U8,
        DynamicImage::ImageLumaA8(_) => PixelType::U8x2,
        DynamicImage::ImageRgb8(_) => PixelType::U8x3,
        DynamicImage::ImageRgba8(_) => PixelType::U8x4,
        other => {
            let rgba = DynamicImage::ImageRgba8(other.to_rgba8());
            return resized(&rgba, width, height, how);
        }
    };
    let fail = |_| Refusal::Unconvertible;
    let source =
        ImageRef::new(image.width(), image.height(), image.as_bytes(), pixel_type).map_err(fail)?;
    let mut target = Image::new(width, height, pixel_type);
    let mut options =
        ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::CatmullRom));
    if how == Fit::CropCentre {
        options = options.fit_into_destination(None);
    }
    Resizer::new()
        .resize(&source, &mut target, &options)
        .map_err(|_| Refusal::Unconvertible)?;
    let pixels = target.into_vec();
    let image = match pixel_type {
        PixelType::U8 => GrayImage::from_raw(width, height, pixels).map(DynamicImage::ImageLuma8),
        PixelType::U8x2 => {
            GrayAlphaImage::from_raw(width, height, pixels).map(DynamicImage::ImageLumaA8)
        }
        PixelType::U8x3 => RgbImage::from_raw(width, height, pixels).map(DynamicImage::ImageRgb8),
        _ => RgbaImage::from_raw(width, height, pixels).map(DynamicImage::ImageRgba8),
    };
    image.ok_or(Refusal::Unconvertible)
}

/// Re-encodes a GIF frame by frame (so nothing else in the file survives), looping forever.
/// Returns it with its first frame and its frame count.
fn reencode_animation(bytes: &[u8], rules: &Rules) -> Result<(Rendition, RgbaImage, u32), Refusal> {
    let mut decoder = GifDecoder::new(Cursor::new(bytes)).map_err(|e| damaged(&e))?;
    let (width, height) = decoder.dimensions();
    let mut limits = limits(rules);
    // The decoder keeps one canvas and composes each frame into another.
    let canvas = u64::from(width) * u64::from(height) * 4;
    limits.max_alloc = Some(canvas.saturating_mul(4) + 16 * 1024 * 1024);
    decoder.set_limits(limits).map_err(|e| damaged(&e))?;
    let (stored_width, stored_height) = fitted_size(width, height, MAX_STORED_SIDE);
    let mut out = Vec::new();
    let mut first = None;
    let mut count = 0u32;
    {
        let mut encoder = GifEncoder::new_with_speed(&mut out, GIF_SPEED);
        encoder
            .set_repeat(Repeat::Infinite)
            .map_err(|_| Refusal::Unconvertible)?;
        for frame in decoder.into_frames() {
            let frame = frame.map_err(|e| damaged(&e))?;
            count += 1;
            if count > rules.max_frames {
                return Err(Refusal::TooManyFrames {
                    frames: count,
                    max_frames: rules.max_frames,
                    pixels: u64::from(count) * u64::from(width) * u64::from(height),
                    max_pixels: rules.max_frame_pixels,
                });
            }
            let delay = frame.delay();
            let mut buffer = frame.into_buffer();
            if (stored_width, stored_height) != (width, height) {
                let frame = DynamicImage::ImageRgba8(buffer);
                buffer = resized(&frame, stored_width, stored_height, Fit::Stretch)?.into_rgba8();
            }
            if first.is_none() {
                first = Some(buffer.clone());
            }
            encoder
                .encode_frame(Frame::from_parts(buffer, 0, 0, delay))
                .map_err(|_| Refusal::Unconvertible)?;
        }
    }
    let first = first.ok_or_else(|| cut("the GIF has no pictures in it"))?;
    let stored = Rendition {
        bytes: out,
        width: stored_width,
        height: stored_height,
    };
    Ok((stored, first, count))
}

/// Encodes `image` as `family`, with its colour profile where the format carries one.
fn encode(image: &DynamicImage, family: Family, icc: Option<&[u8]>) -> Result<Vec<u8>, Refusal> {
    let mut out = Vec::new();
    let fail = |_| Refusal::Unconvertible;
    let (width, height) = (image.width(), image.height());
    match family {
        Family::Jpeg(quality) => {
            let mut encoder = JpegEncoder::new_with_quality(&mut out, quality);
            if let Some(icc) = icc {
                let _ = encoder.set_icc_profile(icc.to_vec());
            }
            match image {
                DynamicImage::ImageLuma8(grey) => {
                    encoder.write_image(grey, width, height, ExtendedColorType::L8)
                }
                DynamicImage::ImageRgb8(rgb) => {
                    encoder.write_image(rgb, width, height, ExtendedColorType::Rgb8)
                }
                other => {
                    encoder.write_image(&other.to_rgb8(), width, height, ExtendedColorType::Rgb8)
                }
            }
            .map_err(fail)?;
        }
        Family::Png => {
            // Default compression, not the encoder's Fast: screenshots come out several
            // times smaller for a few milliseconds more.
            let mut encoder = PngEncoder::new_with_quality(
                &mut out,
                CompressionType::Default,
                image::codecs::png::FilterType::Adaptive,
            );
            if let Some(icc) = icc {
                let _ = encoder.set_icc_profile(icc.to_vec());
            }
            encoder
                .write_image(image.as_bytes(), width, height, image.color().into())
                .map_err(fail)?;
        }
        Family::WebP => {
            let mut encoder = WebPEncoder::new_lossless(&mut out);
            if let Some(icc) = icc {
                let _ = encoder.set_icc_profile(icc.to_vec());
            }
            encoder
                .write_image(image.as_bytes(), width, height, image.color().into())
                .map_err(fail)?;
        }
        Family::Gif => {
            let rgba = image.to_rgba8();
            let mut encoder = GifEncoder::new_with_speed(&mut out, GIF_SPEED);
            encoder
                .encode(rgba.as_raw(), width, height, ExtendedColorType::Rgba8)
                .map_err(fail)?;
        }
    }
    Ok(out)
}

/// `image` as lossless WebP or as `family`, whichever is smaller (the family on a tie).
fn smaller_of(
    image: &DynamicImage,
    family: Family,
    icc: Option<&[u8]>,
) -> Result<Thumbnail, Refusal> {
    let own = encode(image, family, icc)?;
    let webp = encode(image, Family::WebP, icc)?;
    let (chosen, bytes) = if webp.len() < own.len() {
        (Family::WebP, webp)
    } else {
        (family, own)
    };
    Ok(Thumbnail {
        width: image.width(),
        height: image.height(),
        content_type: chosen.content_type().into(),
        extension: chosen.extension().into(),
        bytes,
    })
}

fn human_bytes(bytes: u64) -> String {
    const KB: u64 = 1024;
    const MB: u64 = 1024 * 1024;
    if bytes >= MB {
        let tenths = (bytes * 10 + MB / 2) / MB;
        if tenths.is_multiple_of(10) {
            format!("{} MB", tenths / 10)
        } else {
            format!("{}.{} MB", tenths / 10, tenths % 10)
        }
    } else if bytes >= KB {
        format!("{} KB", (bytes + KB / 2) / KB)
    } else {
        format!("{bytes} bytes")
    }
}

fn megapixels(pixels: u64) -> String {
    let tenths = (pixels + 50_000) / 100_000;
    if tenths.is_multiple_of(10) {
        format!("{}", tenths / 10)
    } else {
        format!("{}.{}", tenths / 10, tenths % 10)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{GenericImageView, Rgb, RgbImage, Rgba};

    /// `expect` for tests, without tripping the workspace's `expect_used` lint.
    trait Must<T> {
        fn must(self, what: &str) -> T;
    }

    impl<T, E: fmt::Display> Must<T> for Result<T, E> {
        fn must(self, what: &str) -> T {
            self.unwrap_or_else(|e| panic!("{what}: {e}"))
        }
    }

    fn rules() -> Rules {
        Rules::default()
    }

    fn refusal(result: Result<Checked, Refusal>) -> Refusal {
        match result {
            Ok(checked) => panic!("accepted {} ({})", checked.name, checked.content_type),
            Err(refusal) => refusal,
        }
    }

    /// A gradient with some texture, so encoders have something to do.
    fn picture(width: u32, height: u32) -> RgbImage {
        RgbImage::from_fn(width, height, |x, y| {
            Rgb([
                (x * 255 / width.max(1)) as u8,
                (y * 255 / height.max(1)) as u8,
                ((x ^ y) & 0x3F) as u8,
            ])
        })
    }

    fn encoded(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
        let mut out = Vec::new();
        image
            .write_to(&mut Cursor::new(&mut out), format)
            .must("encodes");
        out
    }

    fn png(width: u32, height: u32) -> Vec<u8> {
        encoded(
            &DynamicImage::ImageRgb8(picture(width, height)),
            ImageFormat::Png,
        )
    }

    fn jpeg(width: u32, height: u32) -> Vec<u8> {
        encoded(
            &DynamicImage::ImageRgb8(picture(width, height)),
            ImageFormat::Jpeg,
        )
    }

    /// An animated GIF whose frames are solid colours.
    fn animated_gif(width: u32, height: u32, colours: &[[u8; 3]]) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut encoder = GifEncoder::new_with_speed(&mut out, 30);
            encoder.set_repeat(Repeat::Infinite).must("repeat");
            for &[r, g, b] in colours {
                let buffer = RgbaImage::from_pixel(width, height, Rgba([r, g, b, 255]));
                let delay = image::Delay::from_numer_denom_ms(100, 1);
                encoder
                    .encode_frame(Frame::from_parts(buffer, 0, 0, delay))
                    .must("frame");
            }
        }
        out
    }

    fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut out = (data.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let mut crc = crc32fast::Hasher::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(&crc.finalize().to_be_bytes());
        out
    }

    /// A PNG whose header claims `width`×`height` (RGB, 8 bits) over `idat`, with valid CRCs.
    fn png_claiming(width: u32, height: u32, idat: &[u8]) -> Vec<u8> {
        let mut ihdr = width.to_be_bytes().to_vec();
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        out.extend(chunk(b"IHDR", &ihdr));
        out.extend(chunk(b"IDAT", idat));
        out.extend(chunk(b"IEND", b""));
        out
    }

    fn zlib_zeros(len: usize) -> Vec<u8> {
        use std::io::Write;
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(&vec![0; len]).must("compress");
        encoder.finish().must("compress")
    }

    /// A small ZIP archive holding one stored file, "a.txt" = "hi".
    fn zip() -> Vec<u8> {
        let mut out = b"PK\x03\x04\x0a\x00\x00\x00\x00\x00\x00\x00\x00\x00".to_vec();
        let crc = crc32fast::hash(b"hi").to_le_bytes();
        out.extend_from_slice(&crc);
        out.extend_from_slice(&[2, 0, 0, 0, 2, 0, 0, 0, 5, 0, 0, 0]);
        out.extend_from_slice(b"a.txthi");
        let central = out.len() as u32;
        out.extend_from_slice(b"PK\x01\x02\x14\x00\x0a\x00\x00\x00\x00\x00\x00\x00\x00\x00");
        out.extend_from_slice(&crc);
        out.extend_from_slice(&[2, 0, 0, 0, 2, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(b"a.txt");
        let size = out.len() as u32 - central;
        out.extend_from_slice(b"PK\x05\x06\x00\x00\x00\x00\x01\x00\x01\x00");
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&central.to_le_bytes());
        out.extend_from_slice(&[0, 0]);
        out
    }

    #[test]
    fn refuses_non_image_renamed_png() {
        let text = refusal(check(
            "photo.png",
            b"just some text, not a picture",
            &rules(),
        ));
        assert_eq!(text.code(), "not_what_it_says");
        assert!(text.to_string().contains("named .png"), "{text}");
        let pdf = refusal(check(
            "photo.png",
            b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj",
            &rules(),
        ));
        assert_eq!(pdf.code(), "not_what_it_says");
        assert!(pdf.to_string().contains("a PDF document"), "{pdf}");
        let heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic";
        let heic = refusal(check("IMG_0001.jpg", heic, &rules()));
        assert_eq!(heic.code(), "not_what_it_says");
        assert!(heic.to_string().contains("HEIF image"), "{heic}");
    }

    #[test]
    fn refuses_truncated_png() {
        let whole = png(300, 200);
        assert!(check("a.png", &whole, &rules()).is_ok());
        for len in [whole.len() / 2, whole.len() - 12, 20] {
            let cut = refusal(check("a.png", &whole[..len], &rules()));
            assert_eq!(cut.code(), "damaged", "cut at {len}: {cut}");
        }
    }

    #[test]
    fn refuses_truncated_jpeg() {
        let whole = jpeg(300, 200);
        assert!(check("a.jpg", &whole, &rules()).is_ok());
        // The decoder alone pads a short scan with grey; the missing end marker gives it away.
        for len in [whole.len() * 6 / 10, whole.len() - 2, 300] {
            let cut = refusal(check("a.jpg", &whole[..len], &rules()));
            assert_eq!(cut.code(), "damaged", "cut at {len}: {cut}");
        }
    }

    #[test]
    fn refuses_60000_px_wide() {
        let bytes = png_claiming(60_000, 10, &zlib_zeros(10 * 60_001 * 3));
        let wide = refusal(check("wide.png", &bytes, &rules()));
        assert_eq!(wide.code(), "too_many_pixels");
        assert!(wide.to_string().contains("60000×10"), "{wide}");
        assert!(
            wide.to_string().contains("20000 pixels on a side"),
            "{wide}"
        );
        assert_eq!(refusal_of_avatar(&bytes).code(), "too_many_pixels");
    }

    fn refusal_of_avatar(bytes: &[u8]) -> Refusal {
        match avatar(bytes, &rules()) {
            Ok(_) => panic!("avatar accepted"),
            Err(refusal) => refusal,
        }
    }

    #[test]
    fn refuses_png_bomb() {
        // 30,000 × 30,000 claimed (2.7 GB of pixels) in a file of a few KB.
        let bomb = png_claiming(30_000, 30_000, &zlib_zeros(1 << 20));
        assert!(bomb.len() < 16 * 1024, "{} bytes", bomb.len());
        assert_eq!(
            refusal(check("bomb.png", &bomb, &rules())).code(),
            "too_many_pixels"
        );
        // Within the side limit but over the pixel limit.
        let bomb = png_claiming(10_000, 10_000, &zlib_zeros(1 << 20));
        let refused = refusal(check("bomb.png", &bomb, &rules()));
        assert_eq!(refused.code(), "too_many_pixels");
        assert!(refused.to_string().contains("40 megapixels"), "{refused}");
    }

    #[test]
    fn refuses_zip_appended_to_image() {
        for (name, image) in [
            ("a.png", png(40, 30)),
            ("a.jpg", jpeg(40, 30)),
            ("a.gif", animated_gif(40, 30, &[[255, 0, 0]])),
            (
                "a.webp",
                encoded(&DynamicImage::ImageRgb8(picture(40, 30)), ImageFormat::WebP),
            ),
        ] {
            let mut polyglot = image.clone();
            polyglot.extend(zip());
            let refused = refusal(check(name, &polyglot, &rules()));
            assert_eq!(refused.code(), "hidden_data", "{name}: {refused}");
            assert!(refused.to_string().contains("ZIP archive"), "{refused}");
        }
    }

    #[test]
    fn refuses_gif_with_script_appended() {
        let gif = animated_gif(20, 20, &[[0, 0, 255]]);
        for script in [
            &b"<script>alert(document.cookie)</script>"[..],
            b"<ScRiPt src=//evil.example>",
            b"<HTML><body onload=x()>",
            b"javascript:alert(1)",
        ] {
            let mut bytes = gif.clone();
            bytes.extend_from_slice(script);
            assert_eq!(refusal(check("cat.gif", &bytes, &rules())).code(), "script");
        }
        // Anything else after the trailer is refused too.
        let mut bytes = gif.clone();
        bytes.extend_from_slice(b"hello");
        assert_eq!(
            refusal(check("cat.gif", &bytes, &rules())).code(),
            "hidden_data"
        );
        // Script inside a PNG text chunk, before IEND.
        let mut png = png(10, 10);
        let end = png.len() - 12;
        png.splice(end..end, chunk(b"tEXt", b"Comment\0<iframe src=x>"));
        assert_eq!(refusal(check("a.png", &png, &rules())).code(), "script");
    }

    #[test]
    fn refuses_svg_with_script() {
        let svg = br#"<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">
  <script>alert(1)</script><rect width="10" height="10"/>
</svg>"#;
        for name in ["logo.svg", "logo.png", "logo.txt"] {
            let refused = refusal(check(name, svg, &rules()));
            assert_eq!(refused.code(), "svg", "{name}");
            assert!(refused.to_string().contains("script"), "{refused}");
        }
        let mut with_bom = b"\xEF\xBB\xBF\n  ".to_vec();
        with_bom.extend_from_slice(b"<SVG onload=\"x()\"/>");
        assert_eq!(refusal(check("a.png", &with_bom, &rules())).code(), "svg");
        let doctype = b"<?xml version='1.0'?>\n<!-- drawn by hand -->\n<!DOCTYPE svg PUBLIC \
            '-//W3C//DTD SVG 1.1//EN' 'http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd'>\n<svg/>";
        assert_eq!(refusal(check("a.txt", doctype, &rules())).code(), "svg");
        assert_eq!(refusal_of_avatar(svg).code(), "svg");
        assert_eq!(refusal_of_avatar(b"hello").code(), "not_what_it_says");
        // A page that merely contains a drawing is not an SVG file.
        let page = b"<!DOCTYPE html>\n<p>A chart:</p><svg width='4'></svg>";
        assert!(check("page.txt", page, &rules()).is_ok());
    }

    #[test]
    fn refuses_path_traversal_names() {
        let bytes = png(10, 10);
        for name in [
            "../../x.png",
            "..\\x.png",
            "/etc/passwd",
            "C:\\Users\\me\\x.png",
            "x\0.png",
            "x\n.png",
            "x\u{7}.png",
            "..",
            ".",
            "...",
            "",
            "   ",
            "photo\u{202E}gnp.exe",
        ] {
            let refused = refusal(check(name, &bytes, &rules()));
            assert_eq!(refused.code(), "bad_name", "{name:?}");
        }
        let long = format!("{}.png", "a".repeat(300));
        assert_eq!(refusal(check(&long, &bytes, &rules())).code(), "bad_name");
        // Dots inside a name are fine.
        assert!(check("v1..2.png", &bytes, &rules()).is_ok());
    }

    #[test]
    fn keeps_chinese_file_name() {
        let bytes = png(10, 10);
        let checked = check("截图 2026.png", &bytes, &rules()).must("accepted");
        assert_eq!(checked.name, "截图 2026.png");
        let checked = check("  截图 2026.PNG \n", &bytes, &rules()).must("accepted");
        assert_eq!(checked.name, "截图 2026.PNG");
        assert_eq!(checked.extension, "png");
        let log = check("日志.log", "错误：无法连接".as_bytes(), &rules()).must("accepted");
        assert_eq!(log.name, "日志.log");
    }

    #[test]
    fn refuses_file_over_limit() {
        let rules = Rules {
            max_bytes: 1024 * 1024,
            ..Rules::default()
        };
        let bytes = vec![b'a'; 1024 * 1024 + 1];
        let refused = refusal(check("big.log", &bytes, &rules));
        assert_eq!(refused.code(), "too_large");
        assert!(refused.to_string().contains("at most 1 MB"), "{refused}");
        assert!(check("ok.log", &bytes[1..], &rules).is_ok());
        let default = Rules::default();
        let refused = refusal(check("big.log", &vec![b'a'; 9 << 20], &default));
        assert!(refused.to_string().contains("at most 8 MB"), "{refused}");
        assert_eq!(refusal(check("empty.txt", b"", &default)).code(), "empty");
    }

    #[test]
    fn refuses_disallowed_type() {
        let exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xFF\xFF\x00\x00";
        let refused = refusal(check("setup.exe", exe, &rules()));
        assert_eq!(refused.code(), "type_not_allowed");
        let message = refused.to_string();
        assert!(
            message.contains("Files ending in .exe are not accepted"),
            "{message}"
        );
        assert!(message.contains("Windows program"), "{message}");
        assert!(message.contains("jpg, jpeg, png"), "{message}");
        assert_eq!(
            refusal(check("Makefile", b"all:\n", &rules())).code(),
            "type_not_allowed"
        );
        assert_eq!(
            refusal(check("x.html", b"<p>hi", &rules())).code(),
            "type_not_allowed"
        );
    }

    #[test]
    fn text_file_checked_by_content() {
        let refused = refusal(check("notes.txt", &png(10, 10), &rules()));
        assert_eq!(refused.code(), "not_what_it_says");
        assert!(refused.to_string().contains("PNG image"), "{refused}");
        let log = b"2026-01-02 10:00:01 ERROR panicked at src/main.rs:3:5\n\tbacktrace...\n";
        let checked = check("server.LOG", log, &rules()).must("accepted");
        assert_eq!(checked.kind, Kind::File);
        assert_eq!(checked.bytes, log);
        assert_eq!(checked.extension, "log");
        assert_eq!(checked.content_type, "text/plain; charset=utf-8");
        assert!(checked.thumbnails.is_empty());
        assert_eq!(
            refusal(check("a.crash", b"a\0b", &rules())).code(),
            "not_what_it_says"
        );
        let latin1 = refusal(check("a.txt", b"caf\xE9", &rules()));
        assert_eq!(latin1.code(), "not_what_it_says");
        assert!(latin1.to_string().contains("UTF-8"), "{latin1}");
        let zip_as_text = refusal(check("a.txt", &zip(), &rules()));
        assert!(
            zip_as_text.to_string().contains("ZIP archive"),
            "{zip_as_text}"
        );
    }

    #[test]
    fn json_must_parse() {
        let good = br#"{"crash": {"thread": 3, "frames": ["a", "b"]}}"#;
        let checked = check("report.json", good, &rules()).must("accepted");
        assert_eq!(checked.content_type, "application/json");
        assert_eq!(checked.bytes, good);
        let refused = refusal(check("report.json", b"{\"a\": 1,\n \"b\": }", &rules()));
        assert_eq!(refused.code(), "damaged");
        assert!(refused.to_string().contains("line 2"), "{refused}");
        assert_eq!(
            refusal(check("a.json", b"{} {}", &rules())).code(),
            "damaged"
        );
        assert_eq!(
            refusal(check("a.json", b"\xFF\xFE{}", &rules())).code(),
            "not_what_it_says"
        );
        assert!(check("a.json", b"\xEF\xBB\xBF[1, 2]", &rules()).is_ok());
    }

    #[test]
    fn zip_accepted_by_signature() {
        let bytes = zip();
        let checked = check("logs.zip", &bytes, &rules()).must("accepted");
        assert_eq!(checked.kind, Kind::File);
        assert_eq!(checked.bytes, bytes);
        assert_eq!(checked.content_type, "application/zip");
        assert_eq!(
            refusal(check("logs.zip", b"not a zip", &rules())).code(),
            "not_what_it_says"
        );
        let gzip = refusal(check(
            "logs.zip",
            b"\x1f\x8b\x08\x00\x00\x00\x00\x00",
            &rules(),
        ));
        assert!(gzip.to_string().contains("gzip archive"), "{gzip}");
    }

    /// A JPEG of `image` with an EXIF segment saying Orientation 6 and holding a GPS position.
    fn jpeg_with_exif_orientation_6(image: &RgbImage) -> Vec<u8> {
        let plain = encoded(&DynamicImage::ImageRgb8(image.clone()), ImageFormat::Jpeg);
        // TIFF, big-endian: IFD0 at 8 with Orientation = 6 and a GPS IFD pointer; the GPS IFD
        // holds GPSLatitudeRef "N" and GPSLatitude 52/1, 31/1, 0/1.
        let mut tiff = b"MM\x00\x2a\x00\x00\x00\x08".to_vec();
        tiff.extend_from_slice(&[0, 2]);
        tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0]);
        tiff.extend_from_slice(&[0x88, 0x25, 0, 4, 0, 0, 0, 1, 0, 0, 0, 38]);
        tiff.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(tiff.len(), 38);
        tiff.extend_from_slice(&[0, 2]);
        tiff.extend_from_slice(&[0x00, 0x01, 0, 2, 0, 0, 0, 2, b'N', 0, 0, 0]);
        tiff.extend_from_slice(&[0x00, 0x02, 0, 5, 0, 0, 0, 3, 0, 0, 0, 68]);
        tiff.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(tiff.len(), 68);
        for value in [52u32, 1, 31, 1, 0, 1] {
            tiff.extend_from_slice(&value.to_be_bytes());
        }
        let mut app1 = b"Exif\x00\x00".to_vec();
        app1.extend(tiff);
        let mut out = plain[..2].to_vec();
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&(app1.len() as u16 + 2).to_be_bytes());
        out.extend(app1);
        out.extend_from_slice(&plain[2..]);
        out
    }

    #[test]
    fn orientation_6_comes_out_upright_without_exif() {
        // Stored 64 wide, 32 high, with a red block at the stored top left. Orientation 6
        // means "turn 90° clockwise to show": upright it is 32×64 with red at the top right.
        let mut stored = RgbImage::from_pixel(64, 32, Rgb([0, 0, 255]));
        for y in 0..16 {
            for x in 0..16 {
                stored.put_pixel(x, y, Rgb([255, 0, 0]));
            }
        }
        let bytes = jpeg_with_exif_orientation_6(&stored);
        assert!(find_ignore_case(&bytes, b"Exif\0\0").is_some());
        let mut decoder = ImageReader::new(Cursor::new(&bytes))
            .with_guessed_format()
            .must("reads")
            .into_decoder()
            .must("decoder");
        assert_eq!(
            decoder.orientation().must("orientation"),
            Orientation::Rotate90
        );

        let checked = check("IMG_1234.JPG", &bytes, &rules()).must("accepted");
        assert_eq!((checked.width, checked.height), (32, 64));
        assert_eq!(checked.content_type, "image/jpeg");
        assert!(find_ignore_case(&checked.bytes, b"Exif").is_none());
        let upright = image::load_from_memory(&checked.bytes)
            .must("decodes")
            .to_rgb8();
        assert_eq!(upright.dimensions(), (32, 64));
        let Rgb([r, _, b]) = *upright.get_pixel(28, 4);
        assert!(r > 200 && b < 60, "top right should be red: {r}, {b}");
        let Rgb([r, _, b]) = *upright.get_pixel(4, 4);
        assert!(r < 60 && b > 200, "top left should be blue: {r}, {b}");
        let Rgb([r, _, b]) = *upright.get_pixel(28, 60);
        assert!(r < 60 && b > 200, "bottom right should be blue: {r}, {b}");
        // exiftool (Debian's libimage-exiftool-perl) reads the fixture's orientation and
        // position, and finds neither in what is stored.
        match exif_tags(&bytes) {
            Some(before) => {
                assert!(before.contains("Orientation: 6"), "{before}");
                assert!(before.contains("GPSLatitude"), "{before}");
                let after = exif_tags(&checked.bytes).unwrap_or_default();
                assert!(!after.contains("Orientation"), "{after}");
                assert!(!after.contains("GPS"), "{after}");
            }
            None => eprintln!(
                "\n!!! SKIPPED: exiftool is not installed: the orientation test did not check \
                 its output with it (`.ci/run` installs libimage-exiftool-perl).\n"
            ),
        }
        // The avatar is turned too.
        let avatars = avatar(&bytes, &rules()).must("avatar");
        assert!(
            avatars
                .iter()
                .all(|a| find_ignore_case(&a.bytes, b"Exif").is_none())
        );
    }

    /// What exiftool says of an image's EXIF orientation and GPS tags ("Tag: value" lines,
    /// numbers as stored), or None without exiftool.
    fn exif_tags(bytes: &[u8]) -> Option<String> {
        let dir = tempfile::tempdir().must("tempdir");
        let path = dir.path().join("image.jpg");
        std::fs::write(&path, bytes).must("write");
        let output = std::process::Command::new("exiftool")
            .args(["-s", "-n", "-Orientation", "-GPS:all"])
            .arg(&path)
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&output.stdout).to_string();
        Some(
            text.lines()
                .map(|l| {
                    l.split_once(':').map_or(l.to_string(), |(k, v)| {
                        format!("{}: {}", k.trim(), v.trim())
                    })
                })
                .collect::<Vec<_>>()
                .join("\n"),
        )
    }

    /// The start of an ICC profile header: its size and the "acsp" signature.
    fn icc_profile(body: &[u8]) -> Vec<u8> {
        let mut icc = vec![0; 128];
        icc.extend_from_slice(body);
        let len = icc.len() as u32;
        icc[..4].copy_from_slice(&len.to_be_bytes());
        icc[36..40].copy_from_slice(b"acsp");
        icc
    }

    fn jpeg_with_icc(icc: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = JpegEncoder::new_with_quality(&mut out, 90);
        encoder.set_icc_profile(icc.to_vec()).must("icc");
        let image = picture(40, 30);
        encoder
            .write_image(image.as_raw(), 40, 30, ExtendedColorType::Rgb8)
            .must("encodes");
        out
    }

    fn icc_of(bytes: &[u8]) -> Option<Vec<u8>> {
        let mut decoder = ImageReader::new(Cursor::new(bytes))
            .with_guessed_format()
            .must("reads")
            .into_decoder()
            .must("decoder");
        decoder.icc_profile().must("icc")
    }

    #[test]
    fn colour_profile_kept_unless_it_hides_an_archive() {
        let profile = icc_profile(b"desc display p3 curves");
        let checked = check("p3.jpg", &jpeg_with_icc(&profile), &rules()).must("accepted");
        assert_eq!(icc_of(&checked.bytes), Some(profile));
        let zip_inside = icc_profile(&zip());
        let checked = check("p3.jpg", &jpeg_with_icc(&zip_inside), &rules()).must("accepted");
        assert_eq!(icc_of(&checked.bytes), None);
        assert!(find_ignore_case(&checked.bytes, b"PK\x05\x06").is_none());
    }

    #[test]
    fn animated_gif_stays_animated() {
        let colours = [[255, 0, 0], [0, 255, 0], [0, 0, 255]];
        let bytes = animated_gif(900, 30, &colours);
        let checked = check("dance.gif", &bytes, &rules()).must("accepted");
        assert!(checked.animated);
        assert_eq!(checked.content_type, "image/gif");
        assert_eq!((checked.width, checked.height), (900, 30));
        let frames = GifDecoder::new(Cursor::new(&checked.bytes))
            .must("gif")
            .into_frames()
            .collect_frames()
            .must("frames");
        assert_eq!(frames.len(), 3);
        for (frame, [r, g, b]) in frames.iter().zip(colours) {
            assert_eq!(*frame.buffer().get_pixel(450, 15), Rgba([r, g, b, 255]));
        }
        assert!(
            find_ignore_case(&checked.bytes, b"NETSCAPE2.0").is_some(),
            "loops"
        );
        // The thumbnail is a still of the first frame.
        assert_eq!(checked.thumbnails.len(), 1);
        let thumbnail = &checked.thumbnails[0];
        assert_eq!((thumbnail.width, thumbnail.height), (800, 27));
        assert_ne!(thumbnail.content_type, "image/gif");
        let still = image::load_from_memory(&thumbnail.bytes).must("decodes");
        assert_eq!(still.to_rgba8().get_pixel(400, 13).0, [255, 0, 0, 255]);

        let many = animated_gif(2, 2, &[[1, 2, 3]; 301]);
        let refused = refusal(check("many.gif", &many, &rules()));
        assert_eq!(refused.code(), "too_many_frames");
        assert!(refused.to_string().contains("at most 300."), "{refused}");
        let big = Rules {
            max_frame_pixels: 900 * 30 * 2,
            ..Rules::default()
        };
        let refused = refusal(check("dance.gif", &bytes, &big));
        assert_eq!(refused.code(), "too_many_frames");
        assert!(
            refused.to_string().contains("0.1 megapixels in all"),
            "{refused}"
        );
    }

    /// A PNG with fine detail everywhere (noise), which compresses badly, as busy
    /// screenshots do.
    fn busy_png(width: u32, height: u32) -> Vec<u8> {
        encoded(&busy(width, height), ImageFormat::Png)
    }

    fn busy(width: u32, height: u32) -> DynamicImage {
        let mut seed: u32 = 0x2545_f491;
        DynamicImage::ImageRgb8(image::RgbImage::from_fn(width, height, |_, _| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let [r, g, b, _] = seed.to_le_bytes();
            image::Rgb([r, g, b])
        }))
    }

    #[test]
    fn thumbnails_no_lighter_than_the_image_are_dropped() {
        // A smooth gradient compresses so well that its copies would weigh more.
        let checked = check("flat.png", &png(2400, 1200), &rules()).must("accepted");
        assert_eq!((checked.width, checked.height), (2400, 1200));
        assert!(checked.thumbnails.is_empty());
    }

    #[test]
    fn thumbnails_for_wide_image() {
        let bytes = busy_png(2400, 1200);
        let roomy = Rules {
            max_bytes: 32 << 20,
            ..rules()
        };
        let checked = check("screenshot.png", &bytes, &roomy).must("accepted");
        assert_eq!((checked.width, checked.height), (2400, 1200));
        assert_eq!(checked.content_type, "image/png");
        let sizes: Vec<_> = checked
            .thumbnails
            .iter()
            .map(|t| (t.width, t.height))
            .collect();
        assert_eq!(sizes, [(800, 400), (1600, 800)]);
        for thumbnail in &checked.thumbnails {
            // The smaller of lossless WebP and PNG is kept: both encode the same pixels.
            let pixels = eight_bit(image::load_from_memory(&thumbnail.bytes).must("decodes"));
            assert_eq!(pixels.dimensions(), (thumbnail.width, thumbnail.height));
            let png = encode(&pixels, Family::Png, None).must("png");
            let webp = encode(&pixels, Family::WebP, None).must("webp");
            assert_eq!(thumbnail.bytes.len(), png.len().min(webp.len()));
            let expected = if webp.len() < png.len() {
                "image/webp"
            } else {
                "image/png"
            };
            assert_eq!(thumbnail.content_type, expected);
        }
        // A photo's thumbnails compete with JPEG instead.
        let grainy = encoded(&busy(1000, 750), ImageFormat::Jpeg);
        let photo = check("photo.jpg", &grainy, &rules()).must("accepted");
        assert_eq!(photo.thumbnails.len(), 1);
        assert_eq!(
            (photo.thumbnails[0].width, photo.thumbnails[0].height),
            (800, 600)
        );
        assert!(["image/jpeg", "image/webp"].contains(&photo.thumbnails[0].content_type.as_str()));
    }

    #[test]
    fn small_image_has_no_thumbnails() {
        let checked = check("small.png", &png(640, 480), &rules()).must("accepted");
        assert!(checked.thumbnails.is_empty());
        assert_eq!((checked.width, checked.height), (640, 480));
        let exactly = check("exact.png", &png(800, 10), &rules()).must("accepted");
        assert!(exactly.thumbnails.is_empty());
    }

    #[test]
    fn stored_image_keeps_its_family_and_is_capped() {
        let tall = check("tall.png", &png(100, 5000), &rules()).must("accepted");
        assert_eq!((tall.width, tall.height), (82, 4096));
        let webp = encoded(&DynamicImage::ImageRgb8(picture(50, 40)), ImageFormat::WebP);
        let checked = check("a.webp", &webp, &rules()).must("accepted");
        assert_eq!(
            (checked.content_type.as_str(), checked.extension.as_str()),
            ("image/webp", "webp")
        );
        // Named by its content: a JPEG called .png is stored as the JPEG it is.
        let checked = check("a.png", &jpeg(50, 40), &rules()).must("accepted");
        assert_eq!(checked.extension, "jpg");
        // A phone's gain map appended as a second JPEG is not hidden data.
        let mut ultra_hdr = jpeg(50, 40);
        ultra_hdr.extend(jpeg(25, 20));
        assert!(check("hdr.jpg", &ultra_hdr, &rules()).is_ok());
    }

    #[test]
    fn avatar_is_square_at_each_size() {
        let avatars = avatar(&jpeg(300, 200), &rules()).must("avatar");
        assert_eq!(avatars.len(), AVATAR_SIZES.len());
        for (made, size) in avatars.iter().zip(AVATAR_SIZES) {
            assert_eq!((made.width, made.height), (size, size));
            let decoded = image::load_from_memory(&made.bytes).must("decodes");
            assert_eq!(decoded.dimensions(), (size, size));
            assert!(["image/png", "image/webp"].contains(&made.content_type.as_str()));
        }
        let gif = animated_gif(40, 60, &[[9, 9, 9], [200, 200, 200]]);
        assert_eq!(avatar(&gif, &rules()).must("avatar").len(), 2);
    }
}
