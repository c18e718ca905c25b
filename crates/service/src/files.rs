//! The files Export To File produces: small but real PDF, PPTX and PNG files that name the
//! report, so that a client can save, open and check them.

use std::fmt::Write as _;
use std::io::{Cursor, Write as _};

/// A file format a Power BI report exports to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileFormat {
    Pdf,
    Pptx,
    Png,
}

impl FileFormat {
    /// The format of an `ExportReportRequest.format` value a Power BI report accepts.
    pub fn parse(format: &str) -> Option<Self> {
        match format {
            "PDF" => Some(Self::Pdf),
            "PPTX" => Some(Self::Pptx),
            "PNG" => Some(Self::Png),
            _ => None,
        }
    }

    /// The file extension, with its dot, as `ResourceFileExtension` gives it.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Pdf => ".pdf",
            Self::Pptx => ".pptx",
            Self::Png => ".png",
        }
    }

    /// The media type of the file.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Pptx => {
                "application/vnd.openxmlformats-officedocument.presentationml.presentation"
            }
            Self::Png => "image/png",
        }
    }
}

/// What an exported file shows: the report's name and the pages asked for.
#[derive(Debug, Clone)]
pub(crate) struct ExportContent {
    pub report_name: String,
    pub pages: Vec<String>,
    pub created: String,
}

impl ExportContent {
    fn lines(&self) -> Vec<String> {
        let mut lines = vec![
            format!("Exported from the Power BI emulator on {}", self.created),
            String::new(),
        ];
        if self.pages.is_empty() {
            lines.push("Pages: all".to_owned());
        } else {
            lines.push(format!("Pages: {}", self.pages.join(", ")));
        }
        lines
    }
}

/// The bytes of an exported file.
pub(crate) fn render(format: FileFormat, content: &ExportContent) -> Vec<u8> {
    match format {
        FileFormat::Pdf => pdf(content),
        FileFormat::Pptx => pptx(content),
        FileFormat::Png => png(content),
    }
}

// ---- PDF ----

/// A PDF literal string in WinAnsi (Latin-1 here): other characters become `?`.
fn pdf_text(s: &str) -> Vec<u8> {
    let mut out = vec![b'('];
    for c in s.chars() {
        let b = u32::from(c);
        match c {
            '(' | ')' | '\\' => {
                out.push(b'\\');
                out.push(b as u8);
            }
            _ if (0x20..0x7f).contains(&b) || (0xa0..=0xff).contains(&b) => out.push(b as u8),
            _ => out.push(b'?'),
        }
    }
    out.push(b')');
    out
}

/// A PDF text string in UTF-16BE with its byte-order mark, as hexadecimal: any character.
fn pdf_unicode(s: &str) -> String {
    let mut out = "<FEFF".to_owned();
    for unit in s.encode_utf16() {
        let _ = write!(out, "{unit:04X}");
    }
    out.push('>');
    out
}

/// A one-page PDF 1.4 (A4 landscape) with the report's name as its title and text.
fn pdf(content: &ExportContent) -> Vec<u8> {
    let mut stream = b"BT\n/F1 28 Tf\n60 520 Td\n".to_vec();
    stream.extend(pdf_text(&content.report_name));
    stream.extend(b" Tj\n/F1 12 Tf\n0 -36 Td\n");
    for line in content.lines() {
        stream.extend(pdf_text(&line));
        stream.extend(b" Tj\n0 -18 Td\n");
    }
    stream.extend(b"ET\n");

    let mut objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 842 595] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>".to_vec(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_vec(),
    ];
    let mut contents = format!("<< /Length {} >>\nstream\n", stream.len()).into_bytes();
    contents.extend(&stream);
    contents.extend(b"\nendstream");
    objects.push(contents);
    objects.push(
        format!(
            "<< /Title {} /Producer (pbi-service) >>",
            pdf_unicode(&content.report_name)
        )
        .into_bytes(),
    );

    // The binary comment line tells transfer tools the file is binary.
    let mut out = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n", i + 1).into_bytes());
        out.extend(body);
        out.extend(b"\nendobj\n");
    }
    let xref = out.len();
    // Each cross-reference entry is exactly 20 bytes, ending in space and line feed.
    let mut table = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for offset in offsets {
        let _ = writeln!(table, "{offset:010} 00000 n ");
    }
    let _ = write!(
        table,
        "trailer\n<< /Size {} /Root 1 0 R /Info {} 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1,
        objects.len()
    );
    out.extend(table.into_bytes());
    out
}

// ---- PPTX ----

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot hold at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

const XML_DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n";
const NS: &str = "xmlns:a=\"http://schemas.openxmlformats.org/drawingml/2006/main\" xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\" xmlns:p=\"http://schemas.openxmlformats.org/presentationml/2006/main\"";
const REL_NS: &str = "http://schemas.openxmlformats.org/package/2006/relationships";
const REL_TYPE: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
const EMPTY_TREE: &str =
    "<p:nvGrpSpPr><p:cNvPr id=\"1\" name=\"\"/><p:cNvGrpSpPr/><p:nvPr/></p:nvGrpSpPr><p:grpSpPr/>";

fn rels(entries: &[(&str, &str, &str)]) -> String {
    let mut out = format!("{XML_DECL}<Relationships xmlns=\"{REL_NS}\">");
    for (id, kind, target) in entries {
        let _ = write!(
            out,
            "<Relationship Id=\"{id}\" Type=\"{kind}\" Target=\"{target}\"/>"
        );
    }
    out.push_str("</Relationships>");
    out
}

fn text_box(id: u32, name: &str, y: u32, size: u32, text: &str) -> String {
    format!(
        "<p:sp><p:nvSpPr><p:cNvPr id=\"{id}\" name=\"{name}\"/><p:cNvSpPr txBox=\"1\"/><p:nvPr/></p:nvSpPr>\
         <p:spPr><a:xfrm><a:off x=\"609600\" y=\"{y}\"/><a:ext cx=\"10972800\" cy=\"914400\"/></a:xfrm>\
         <a:prstGeom prst=\"rect\"><a:avLst/></a:prstGeom></p:spPr>\
         <p:txBody><a:bodyPr wrap=\"square\"/><a:lstStyle/><a:p><a:r><a:rPr lang=\"en-US\" sz=\"{size}\"/>\
         <a:t>{}</a:t></a:r></a:p></p:txBody></p:sp>",
        xml_escape(text)
    )
}

fn theme() -> String {
    let mut colors = String::new();
    for (name, rgb) in [
        ("dk2", "44546A"),
        ("lt2", "E7E6E6"),
        ("accent1", "4472C4"),
        ("accent2", "ED7D31"),
        ("accent3", "A5A5A5"),
        ("accent4", "FFC000"),
        ("accent5", "5B9BD5"),
        ("accent6", "70AD47"),
        ("hlink", "0563C1"),
        ("folHlink", "954F72"),
    ] {
        let _ = write!(colors, "<a:{name}><a:srgbClr val=\"{rgb}\"/></a:{name}>");
    }
    let fill = "<a:solidFill><a:schemeClr val=\"phClr\"/></a:solidFill>";
    let line = format!("<a:ln w=\"6350\">{fill}</a:ln>");
    let effect = "<a:effectStyle><a:effectLst/></a:effectStyle>";
    format!(
        "{XML_DECL}<a:theme xmlns:a=\"http://schemas.openxmlformats.org/drawingml/2006/main\" name=\"Office Theme\"><a:themeElements>\
         <a:clrScheme name=\"Office\"><a:dk1><a:sysClr val=\"windowText\" lastClr=\"000000\"/></a:dk1>\
         <a:lt1><a:sysClr val=\"window\" lastClr=\"FFFFFF\"/></a:lt1>{colors}</a:clrScheme>\
         <a:fontScheme name=\"Office\"><a:majorFont><a:latin typeface=\"Calibri Light\"/><a:ea typeface=\"\"/><a:cs typeface=\"\"/></a:majorFont>\
         <a:minorFont><a:latin typeface=\"Calibri\"/><a:ea typeface=\"\"/><a:cs typeface=\"\"/></a:minorFont></a:fontScheme>\
         <a:fmtScheme name=\"Office\"><a:fillStyleLst>{fill}{fill}{fill}</a:fillStyleLst>\
         <a:lnStyleLst>{line}{line}{line}</a:lnStyleLst>\
         <a:effectStyleLst>{effect}{effect}{effect}</a:effectStyleLst>\
         <a:bgFillStyleLst>{fill}{fill}{fill}</a:bgFillStyleLst></a:fmtScheme>\
         </a:themeElements></a:theme>"
    )
}

/// The parts of the presentation, in the order they are written (content types first).
pub(crate) fn pptx_parts(content: &ExportContent) -> Vec<(&'static str, String)> {
    let ct = "application/vnd.openxmlformats-officedocument.presentationml";
    let content_types = format!(
        "{XML_DECL}<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\
         <Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>\
         <Default Extension=\"xml\" ContentType=\"application/xml\"/>\
         <Override PartName=\"/ppt/presentation.xml\" ContentType=\"{ct}.presentation.main+xml\"/>\
         <Override PartName=\"/ppt/slideMasters/slideMaster1.xml\" ContentType=\"{ct}.slideMaster+xml\"/>\
         <Override PartName=\"/ppt/slideLayouts/slideLayout1.xml\" ContentType=\"{ct}.slideLayout+xml\"/>\
         <Override PartName=\"/ppt/slides/slide1.xml\" ContentType=\"{ct}.slide+xml\"/>\
         <Override PartName=\"/ppt/theme/theme1.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.theme+xml\"/>\
         <Override PartName=\"/docProps/core.xml\" ContentType=\"application/vnd.openxmlformats-package.core-properties+xml\"/>\
         <Override PartName=\"/docProps/app.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.extended-properties+xml\"/>\
         </Types>"
    );
    let root_rels = rels(&[
        (
            "rId1",
            &format!("{REL_TYPE}/officeDocument"),
            "ppt/presentation.xml",
        ),
        (
            "rId2",
            "http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties",
            "docProps/core.xml",
        ),
        (
            "rId3",
            &format!("{REL_TYPE}/extended-properties"),
            "docProps/app.xml",
        ),
    ]);
    let presentation = format!(
        "{XML_DECL}<p:presentation {NS} saveSubsetFonts=\"1\">\
         <p:sldMasterIdLst><p:sldMasterId id=\"2147483648\" r:id=\"rId1\"/></p:sldMasterIdLst>\
         <p:sldIdLst><p:sldId id=\"256\" r:id=\"rId2\"/></p:sldIdLst>\
         <p:sldSz cx=\"12192000\" cy=\"6858000\"/><p:notesSz cx=\"6858000\" cy=\"9144000\"/>\
         </p:presentation>"
    );
    let presentation_rels = rels(&[
        (
            "rId1",
            &format!("{REL_TYPE}/slideMaster"),
            "slideMasters/slideMaster1.xml",
        ),
        ("rId2", &format!("{REL_TYPE}/slide"), "slides/slide1.xml"),
        ("rId3", &format!("{REL_TYPE}/theme"), "theme/theme1.xml"),
    ]);
    let master = format!(
        "{XML_DECL}<p:sldMaster {NS}><p:cSld><p:spTree>{EMPTY_TREE}</p:spTree></p:cSld>\
         <p:clrMap bg1=\"lt1\" tx1=\"dk1\" bg2=\"lt2\" tx2=\"dk2\" accent1=\"accent1\" accent2=\"accent2\" \
         accent3=\"accent3\" accent4=\"accent4\" accent5=\"accent5\" accent6=\"accent6\" hlink=\"hlink\" folHlink=\"folHlink\"/>\
         <p:sldLayoutIdLst><p:sldLayoutId id=\"2147483649\" r:id=\"rId1\"/></p:sldLayoutIdLst></p:sldMaster>"
    );
    let master_rels = rels(&[
        (
            "rId1",
            &format!("{REL_TYPE}/slideLayout"),
            "../slideLayouts/slideLayout1.xml",
        ),
        ("rId2", &format!("{REL_TYPE}/theme"), "../theme/theme1.xml"),
    ]);
    let layout = format!(
        "{XML_DECL}<p:sldLayout {NS} type=\"blank\" preserve=\"1\"><p:cSld name=\"Blank\"><p:spTree>{EMPTY_TREE}</p:spTree></p:cSld>\
         <p:clrMapOvr><a:masterClrMapping/></p:clrMapOvr></p:sldLayout>"
    );
    let layout_rels = rels(&[(
        "rId1",
        &format!("{REL_TYPE}/slideMaster"),
        "../slideMasters/slideMaster1.xml",
    )]);
    let mut shapes = text_box(2, "Title", 457_200, 3600, &content.report_name);
    for (i, line) in content.lines().iter().enumerate() {
        let y = 1_600_200 + 457_200 * i as u32;
        shapes.push_str(&text_box(3 + i as u32, "Text", y, 1600, line));
    }
    let slide = format!(
        "{XML_DECL}<p:sld {NS}><p:cSld><p:spTree>{EMPTY_TREE}{shapes}</p:spTree></p:cSld>\
         <p:clrMapOvr><a:masterClrMapping/></p:clrMapOvr></p:sld>"
    );
    let slide_rels = rels(&[(
        "rId1",
        &format!("{REL_TYPE}/slideLayout"),
        "../slideLayouts/slideLayout1.xml",
    )]);
    let core = format!(
        "{XML_DECL}<cp:coreProperties xmlns:cp=\"http://schemas.openxmlformats.org/package/2006/metadata/core-properties\" \
         xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:dcterms=\"http://purl.org/dc/terms/\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><dc:title>{}</dc:title><dc:creator>pbi-service</dc:creator>\
         <dcterms:created xsi:type=\"dcterms:W3CDTF\">{}</dcterms:created></cp:coreProperties>",
        xml_escape(&content.report_name),
        xml_escape(&content.created)
    );
    let app = format!(
        "{XML_DECL}<Properties xmlns=\"http://schemas.openxmlformats.org/officeDocument/2006/extended-properties\">\
         <Application>pbi-service</Application><Slides>1</Slides></Properties>"
    );
    vec![
        ("[Content_Types].xml", content_types),
        ("_rels/.rels", root_rels),
        ("docProps/core.xml", core),
        ("docProps/app.xml", app),
        ("ppt/presentation.xml", presentation),
        ("ppt/_rels/presentation.xml.rels", presentation_rels),
        ("ppt/slideMasters/slideMaster1.xml", master),
        ("ppt/slideMasters/_rels/slideMaster1.xml.rels", master_rels),
        ("ppt/slideLayouts/slideLayout1.xml", layout),
        ("ppt/slideLayouts/_rels/slideLayout1.xml.rels", layout_rels),
        ("ppt/slides/slide1.xml", slide),
        ("ppt/slides/_rels/slide1.xml.rels", slide_rels),
        ("ppt/theme/theme1.xml", theme()),
    ]
}

/// A one-slide presentation: an OOXML package (a zip of stored parts).
fn pptx(content: &ExportContent) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, text) in pptx_parts(content) {
        // Writing to memory cannot fail; a failure here is a bug in the part list.
        zip.start_file(name, options)
            .and_then(|()| zip.write_all(text.as_bytes()).map_err(Into::into))
            .expect("writing a zip part to memory");
    }
    zip.finish()
        .expect("finishing a zip in memory")
        .into_inner()
}

// ---- PNG ----

/// A 320×180 picture of a bar chart under a title band, with the report's name in its
/// `Title` text chunk.
fn png(content: &ExportContent) -> Vec<u8> {
    const W: u32 = 320;
    const H: u32 = 180;
    let mut pixels = vec![255u8; (W * H * 3) as usize];
    let mut fill = |x0: u32, y0: u32, x1: u32, y1: u32, rgb: [u8; 3]| {
        for y in y0..y1.min(H) {
            for x in x0..x1.min(W) {
                let i = ((y * W + x) * 3) as usize;
                pixels[i..i + 3].copy_from_slice(&rgb);
            }
        }
    };
    fill(0, 0, W, 28, [0xF2, 0xC8, 0x11]);
    // The bars' heights depend on the name, so different reports give different pictures.
    let seed = content
        .report_name
        .bytes()
        .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    for i in 0..6 {
        let height = 30 + (seed.rotate_left(i * 5) % 110);
        let x = 24 + i * 48;
        fill(x, H - 12 - height, x + 32, H - 12, [0x11, 0x8D, 0xFF]);
    }
    fill(16, H - 12, W - 16, H - 10, [0x40, 0x40, 0x40]);

    let mut out = Vec::new();
    {
        let mut encoder = ::png::Encoder::new(&mut out, W, H);
        encoder.set_color(::png::ColorType::Rgb);
        encoder.set_depth(::png::BitDepth::Eight);
        let written = encoder
            .add_itxt_chunk("Title".to_owned(), content.report_name.clone())
            .and_then(|()| encoder.add_text_chunk("Software".to_owned(), "pbi-service".to_owned()))
            .and_then(|()| encoder.write_header())
            .and_then(|mut writer| {
                writer.write_image_data(&pixels)?;
                writer.finish()
            });
        written.expect("encoding a PNG in memory");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;

    fn content() -> ExportContent {
        ExportContent {
            report_name: "Sales (Q1) \\ Überblick <&> 売上".to_owned(),
            pages: vec!["ReportSection1".to_owned()],
            created: "2024-03-01T00:00:00.000Z".to_owned(),
        }
    }

    fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
        hay.windows(needle.len()).position(|w| w == needle)
    }

    #[test]
    fn pdf_is_well_formed() {
        let bytes = render(FileFormat::Pdf, &content());
        assert!(bytes.starts_with(b"%PDF-1.4\n"));
        assert!(bytes.ends_with(b"%%EOF\n"));
        // startxref names the offset of the xref table.
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let tail = &text[text.rfind("startxref").expect("startxref")..];
        let xref: usize = tail
            .lines()
            .nth(1)
            .expect("offset")
            .trim()
            .parse()
            .expect("number");
        assert!(bytes[xref..].starts_with(b"xref\n0 7\n"));
        // Each entry points at its object.
        let table = String::from_utf8_lossy(&bytes[xref..]).into_owned();
        let entries: Vec<&str> = table.lines().skip(3).take(6).collect();
        for (i, entry) in entries.iter().enumerate() {
            assert_eq!(entry.len(), 19, "{entry:?}");
            assert!(entry.ends_with(" 00000 n "));
            let offset: usize = entry[..10].parse().expect("offset");
            let header = format!("{} 0 obj\n", i + 1);
            assert!(
                bytes[offset..].starts_with(header.as_bytes()),
                "object {}",
                i + 1
            );
        }
        // Entries are 20 bytes each, with the two-character end of line.
        assert!(find(&bytes, b"0000000000 65535 f \n").is_some());
        // The stream's length is right.
        let at = find(&bytes, b"/Length ").expect("length") + 8;
        let len: usize = String::from_utf8_lossy(&bytes[at..at + 10])
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|s| s.parse().ok())
            .expect("length value");
        let start = find(&bytes, b"stream\n").expect("stream") + 7;
        assert_eq!(&bytes[start + len..start + len + 10], b"\nendstream");
        // The name is in the text (escaped) and in the title (UTF-16).
        assert!(find(&bytes, b"(Sales \\(Q1\\) \\\\ \xDCberblick <&> ??)").is_some());
        assert!(text.contains("/Title <FEFF0053"));
    }

    #[test]
    fn pptx_is_an_ooxml_package() {
        let bytes = render(FileFormat::Pptx, &content());
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).expect("a zip");
        let names: Vec<String> = zip
            .file_names()
            .map(|n| n.expect("a name").into_owned())
            .collect();
        for part in [
            "[Content_Types].xml",
            "_rels/.rels",
            "ppt/presentation.xml",
            "ppt/_rels/presentation.xml.rels",
            "ppt/slides/slide1.xml",
            "ppt/slides/_rels/slide1.xml.rels",
            "ppt/slideLayouts/slideLayout1.xml",
            "ppt/slideMasters/slideMaster1.xml",
            "ppt/theme/theme1.xml",
        ] {
            assert!(names.iter().any(|n| n == part), "{part} missing: {names:?}");
        }
        let mut read = |name: &str| {
            let mut s = String::new();
            zip.by_name(name)
                .expect(name)
                .read_to_string(&mut s)
                .expect("utf-8");
            s
        };
        let slide = read("ppt/slides/slide1.xml");
        assert!(slide.contains("Sales (Q1) \\ Überblick &lt;&amp;&gt; 売上"));
        let types = read("[Content_Types].xml");
        // Every part but the relationships has a content type.
        for name in &names {
            if !name.ends_with(".rels") && name != "[Content_Types].xml" {
                assert!(types.contains(&format!("PartName=\"/{name}\"")), "{name}");
            }
        }
        // Every relationship target exists.
        for rels_name in names.iter().filter(|n| n.ends_with(".rels")) {
            let rels = read(rels_name);
            let base = rels_name.replace("_rels/", "").replace(".rels", "");
            let dir = base.rsplit_once('/').map_or("", |(d, _)| d);
            for target in rels.split("Target=\"").skip(1) {
                let target = &target[..target.find('"').expect("quote")];
                let mut parts: Vec<&str> = if dir.is_empty() {
                    Vec::new()
                } else {
                    dir.split('/').collect()
                };
                for seg in target.split('/') {
                    if seg == ".." {
                        parts.pop();
                    } else {
                        parts.push(seg);
                    }
                }
                let path = parts.join("/");
                assert!(names.contains(&path), "{rels_name} -> {path}");
            }
        }
    }

    #[test]
    fn png_decodes() {
        let bytes = render(FileFormat::Png, &content());
        let decoder = ::png::Decoder::new(Cursor::new(bytes));
        let mut reader = decoder.read_info().expect("a PNG");
        let mut buf = vec![0; reader.output_buffer_size().expect("size")];
        let info = reader.next_frame(&mut buf).expect("a frame");
        assert_eq!((info.width, info.height), (320, 180));
        let title = reader
            .info()
            .utf8_text
            .iter()
            .find(|t| t.keyword == "Title")
            .and_then(|t| t.get_text().ok());
        assert_eq!(title.as_deref(), Some(content().report_name.as_str()));
    }

    #[test]
    fn formats() {
        assert_eq!(FileFormat::parse("PDF"), Some(FileFormat::Pdf));
        assert_eq!(FileFormat::parse("pdf"), None);
        assert_eq!(FileFormat::parse("XLSX"), None);
        assert_eq!(FileFormat::Pptx.extension(), ".pptx");
        assert_eq!(FileFormat::Png.content_type(), "image/png");
    }
}
