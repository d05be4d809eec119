//! Decoding of Microsoft Script Encoder blocks (`VBScript.Encode`,
//! `JScript.Encode`, `screnc.exe`): `#@~^` + 6 base64 characters (the encoded
//! length, little-endian) + `==` + encoded text + 6 base64 characters (a
//! checksum) + `==^#~@`.
//!
//! The cipher is a per-position substitution: every character below 0x80
//! goes through one of three tables, picked by the character's position
//! modulo 64 in a fixed pattern; `@` introduces escapes for characters the
//! encoder keeps out of the output (`@&` newline, `@#` carriage return, `@*`
//! `>`, `@!` `<`, `@$` `@`). Characters at or above 0x80 pass unchanged. The
//! tables are properties of the format as published in "Breaking the Windows
//! Script Encoder" (MrBrownstone, virtualconspiracy.com, 2001) and the
//! Full-Disclosure post "VBScript/JScript.Encode Decoder" (A. Marx, 2003).

/// Which of the three tables decodes the character at position `i % 64`.
const TABLE_ORDER: [u8; 64] = [
    0, 2, 1, 0, 2, 1, 2, 1, 1, 2, 1, 2, 0, 1, 2, 1, 0, 1, 2, 1, 0, 0, 2, 1, 1, 2, 0, 1, 2, 1, 1, 2, 0, 0, 1, 2, 1, 2,
    1, 0, 1, 0, 0, 2, 1, 0, 1, 2, 0, 1, 2, 1, 0, 0, 2, 1, 1, 0, 0, 2, 1, 0, 1, 2,
];

/// Decoded value of encoded characters 0x20..=0x7F in each table; 0xFF marks
/// the escape character.
const DECODE: [[u8; 3]; 96] = [
    [0x2E, 0x32, 0x2D],
    [0x47, 0x30, 0x75],
    [0x7A, 0x21, 0x52],
    [0x56, 0x29, 0x60],
    [0x42, 0x5B, 0x71],
    [0x6A, 0x38, 0x5E],
    [0x2F, 0x33, 0x49],
    [0x26, 0x3D, 0x5C],
    [0x49, 0x58, 0x62],
    [0x41, 0x3A, 0x7D],
    [0x34, 0x35, 0x29],
    [0x32, 0x65, 0x36],
    [0x5B, 0x39, 0x20],
    [0x76, 0x5C, 0x7C],
    [0x72, 0x56, 0x7A],
    [0x43, 0x73, 0x7F],
    [0x38, 0x66, 0x6B],
    [0x39, 0x4E, 0x63],
    [0x70, 0x45, 0x33],
    [0x45, 0x6B, 0x2B],
    [0x68, 0x62, 0x68],
    [0x71, 0x59, 0x51],
    [0x4F, 0x78, 0x66],
    [0x09, 0x5E, 0x76],
    [0x62, 0x7D, 0x31],
    [0x44, 0x4A, 0x64],
    [0x23, 0x6D, 0x54],
    [0x75, 0x71, 0x43],
    [0x3C, 0x3C, 0x3C],
    [0x7E, 0x60, 0x3A],
    [0x3E, 0x3E, 0x3E],
    [0x5E, 0x53, 0x7E],
    [0xFF, 0xFF, 0xFF],
    [0x77, 0x42, 0x45],
    [0x4A, 0x27, 0x2C],
    [0x61, 0x48, 0x2A],
    [0x5D, 0x72, 0x74],
    [0x22, 0x75, 0x27],
    [0x4B, 0x31, 0x37],
    [0x6F, 0x37, 0x44],
    [0x4E, 0x4D, 0x79],
    [0x3B, 0x52, 0x59],
    [0x4C, 0x22, 0x2F],
    [0x50, 0x54, 0x6F],
    [0x67, 0x6A, 0x26],
    [0x2A, 0x47, 0x72],
    [0x7D, 0x64, 0x6A],
    [0x74, 0x2D, 0x39],
    [0x54, 0x20, 0x7B],
    [0x2B, 0x7F, 0x3F],
    [0x2D, 0x2E, 0x38],
    [0x2C, 0x4C, 0x77],
    [0x30, 0x5D, 0x67],
    [0x6E, 0x7E, 0x53],
    [0x6B, 0x6C, 0x47],
    [0x66, 0x6F, 0x34],
    [0x35, 0x79, 0x78],
    [0x25, 0x74, 0x5D],
    [0x21, 0x43, 0x30],
    [0x64, 0x26, 0x23],
    [0x4D, 0x76, 0x5A],
    [0x52, 0x25, 0x5B],
    [0x63, 0x24, 0x6C],
    [0x3F, 0x2B, 0x48],
    [0x7B, 0x28, 0x55],
    [0x78, 0x23, 0x70],
    [0x29, 0x41, 0x69],
    [0x28, 0x34, 0x2E],
    [0x73, 0x09, 0x4C],
    [0x59, 0x2A, 0x21],
    [0x33, 0x44, 0x24],
    [0x7F, 0x3F, 0x4E],
    [0x6D, 0x77, 0x50],
    [0x55, 0x3B, 0x09],
    [0x53, 0x55, 0x56],
    [0x7C, 0x69, 0x73],
    [0x3A, 0x61, 0x35],
    [0x5F, 0x63, 0x61],
    [0x65, 0x50, 0x4B],
    [0x46, 0x67, 0x58],
    [0x58, 0x51, 0x3B],
    [0x31, 0x49, 0x57],
    [0x69, 0x4F, 0x22],
    [0x6C, 0x46, 0x6D],
    [0x5A, 0x68, 0x4D],
    [0x48, 0x7C, 0x25],
    [0x27, 0x36, 0x28],
    [0x5C, 0x70, 0x46],
    [0x3D, 0x6E, 0x4A],
    [0x24, 0x7A, 0x32],
    [0x79, 0x2F, 0x41],
    [0x37, 0x5F, 0x3D],
    [0x60, 0x4B, 0x5F],
    [0x51, 0x5A, 0x4F],
    [0x20, 0x2C, 0x42],
    [0x36, 0x57, 0x65],
];

/// Decoded value of an encoded tab in each table.
const DECODE_TAB: [u8; 3] = [0x57, 0x7B, 0x6E];

const START: &[u8] = b"#@~^";
const END: &[u8] = b"^#~@";

/// How the encoder treated bytes at or above 0x80: screnc.exe works on the page's
/// ANSI code page and copies such characters unchanged without moving the table
/// position; in a double-byte code page (936, 949, 950, 932) the byte after a lead
/// byte is part of the same character and is copied too, even when it is ASCII.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CodePage {
    SingleByte,
    DoubleByte,
}

/// Every encoded block of `bytes` replaced by its plain script; `None` when
/// there is none. `budget` caps the number of decoded bytes. The page's code
/// page is not known, so a block holding high bytes is decoded both ways and
/// the reading that looks more like script is kept.
pub(crate) fn decode_blocks(bytes: &[u8], budget: usize) -> Option<Vec<u8>> {
    let finder = memchr::memmem::Finder::new(START);
    finder.find(bytes)?;
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    let mut decoded_any = false;
    let mut spent = 0usize;
    while let Some(start) = finder.find(rest) {
        out.extend_from_slice(&rest[..start]);
        let after = &rest[start + START.len()..];
        let (block, next) = match memchr::memmem::find(after, END) {
            Some(end) => (&after[..end], end + END.len()),
            // A copy cut short or damaged: the block runs to its server block's close (the
            // encoder never writes `>` bare) or the page's end, and is read as far as it goes.
            None => {
                let end = memchr::memmem::find(after, b"%>").unwrap_or(after.len());
                (&after[..end], end)
            }
        };
        match decode_block(block, budget.saturating_sub(spent)) {
            Some(plain) => {
                spent += plain.len();
                out.extend_from_slice(&plain);
                decoded_any = true;
            }
            None => out.extend_from_slice(&rest[start..start + START.len() + next]),
        }
        rest = &after[next..];
    }
    out.extend_from_slice(rest);
    decoded_any.then_some(out)
}

/// One block's body (between the markers): length header, payload, checksum.
fn decode_block(block: &[u8], budget: usize) -> Option<Vec<u8>> {
    let header = block.get(..8)?;
    if !header.ends_with(b"==") || !header[..6].iter().all(|&b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/') {
        return None;
    }
    let body = &block[8..];
    // The trailing checksum (6 characters + "==") is not part of the script.
    let payload = match body.len().checked_sub(8) {
        Some(cut) if body.ends_with(b"==") => &body[..cut],
        _ => body,
    };
    let mut readings = vec![decode_payload(payload, budget, CodePage::SingleByte)];
    if !payload.iter().all(u8::is_ascii) {
        readings.push(decode_payload(payload, budget, CodePage::DoubleByte));
    }
    // Copies that went through tools dropping control characters have DEL (0x7F, which
    // the encoder writes for `e` at a third of the positions) turned into a space.
    if payload.contains(&b' ') {
        let repaired = restore_dropped_del(payload);
        readings.push(decode_payload(&repaired, budget, CodePage::SingleByte));
        if !payload.iter().all(u8::is_ascii) {
            readings.push(decode_payload(&repaired, budget, CodePage::DoubleByte));
        }
    }
    // Copies saved through a tool that took the page's double-byte text for Latin-1 or
    // Windows-1252 and wrote it as UTF-8 (every high byte now two): the bytes put back.
    if let Some(restored) = undo_double_encoding(payload) {
        readings.push(decode_payload(&restored, budget, CodePage::DoubleByte));
        if restored.contains(&b' ') {
            readings.push(decode_payload(&restore_dropped_del(&restored), budget, CodePage::DoubleByte));
        }
    }
    // The first reading wins ties: the text as it stands, in a single-byte code page.
    let best = readings.iter().enumerate().max_by_key(|(i, r)| (script_likeness(r), usize::MAX - i)).map(|(i, _)| i);
    best.map(|i| readings.swap_remove(i))
}

/// The payload with every space at a position decoded through the third table put back
/// to DEL (what the encoder writes there for `e`); positions move as [`decode_payload`]
/// moves them (single-byte).
fn restore_dropped_del(payload: &[u8]) -> Vec<u8> {
    let mut out = payload.to_vec();
    let mut position = 0usize;
    let mut escape = false;
    for byte in &mut out {
        if escape {
            escape = false;
            position = (position + 1) % 64;
            continue;
        }
        if *byte >= 0x80 {
            continue;
        }
        let table = usize::from(TABLE_ORDER[position]);
        if *byte == b' ' && table == 2 {
            *byte = 0x7F;
        } else if (0x20..=0x7F).contains(byte) && DECODE[usize::from(*byte - 0x20)][table] == 0xFF {
            escape = true;
            continue;
        }
        position = (position + 1) % 64;
    }
    out
}

/// The bytes a UTF-8 payload stood for before it was read as Latin-1 or Windows-1252 and
/// written as UTF-8; `None` unless it holds such characters and nothing else beyond ASCII.
fn undo_double_encoding(payload: &[u8]) -> Option<Vec<u8>> {
    const WINDOWS_1252: [(char, u8); 27] = [
        ('\u{20AC}', 0x80),
        ('\u{201A}', 0x82),
        ('\u{0192}', 0x83),
        ('\u{201E}', 0x84),
        ('\u{2026}', 0x85),
        ('\u{2020}', 0x86),
        ('\u{2021}', 0x87),
        ('\u{02C6}', 0x88),
        ('\u{2030}', 0x89),
        ('\u{0160}', 0x8A),
        ('\u{2039}', 0x8B),
        ('\u{0152}', 0x8C),
        ('\u{017D}', 0x8E),
        ('\u{2018}', 0x91),
        ('\u{2019}', 0x92),
        ('\u{201C}', 0x93),
        ('\u{201D}', 0x94),
        ('\u{2022}', 0x95),
        ('\u{2013}', 0x96),
        ('\u{2014}', 0x97),
        ('\u{02DC}', 0x98),
        ('\u{2122}', 0x99),
        ('\u{0161}', 0x9A),
        ('\u{203A}', 0x9B),
        ('\u{0153}', 0x9C),
        ('\u{017E}', 0x9E),
        ('\u{0178}', 0x9F),
    ];
    if payload.is_ascii() {
        return None;
    }
    let text = std::str::from_utf8(payload).ok()?;
    text.chars()
        .map(|c| match u8::try_from(u32::from(c)) {
            Ok(byte) => Some(byte),
            Err(_) => WINDOWS_1252.iter().find(|(w, _)| *w == c).map(|&(_, byte)| byte),
        })
        .collect()
}

/// Words every ASP script is made of; a reading in the wrong code page turns
/// everything after the first misread character into noise, which has none.
fn script_likeness(decoded: &[u8]) -> usize {
    const WORDS: [&[u8]; 10] =
        [b"request", b"response", b"server", b"then", b"end ", b"dim ", b"set ", b"function", b"var ", b"if "];
    let lowered = decoded.to_ascii_lowercase();
    WORDS.iter().map(|w| memchr::memmem::find_iter(&lowered, w).count()).sum()
}

/// The substitution itself, over the encoded bytes.
fn decode_payload(payload: &[u8], budget: usize, code_page: CodePage) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len().min(budget));
    let mut position = 0usize;
    let mut escape = false;
    let mut bytes = payload.iter().copied();
    while let Some(byte) = bytes.next() {
        if out.len() >= budget {
            break;
        }
        if escape {
            escape = false;
            out.push(match byte {
                b'&' => b'\n',
                b'#' => b'\r',
                b'*' => b'>',
                b'!' => b'<',
                b'$' => b'@',
                other => other,
            });
            position = (position + 1) % 64;
            continue;
        }
        let table = usize::from(TABLE_ORDER[position]);
        let decoded = match byte {
            9 => DECODE_TAB[table],
            0x20..=0x7F => DECODE[usize::from(byte - 0x20)][table],
            0x80.. => {
                out.push(byte);
                if code_page == CodePage::DoubleByte
                    && (0x81..=0xFE).contains(&byte)
                    && let Some(trail) = bytes.next()
                {
                    out.push(trail);
                }
                continue;
            }
            _ => byte,
        };
        if decoded == 0xFF {
            escape = true;
            continue;
        }
        out.push(decoded);
        position = (position + 1) % 64;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The inverse of the decoding tables: what the encoder writes for `plain`.
    fn encode(plain: &str) -> String {
        let mut out = String::new();
        let mut position = 0usize;
        for ch in plain.chars() {
            let table = usize::from(TABLE_ORDER[position]);
            let escaped = match ch {
                '\n' => Some('&'),
                '\r' => Some('#'),
                '>' => Some('*'),
                '<' => Some('!'),
                '@' => Some('$'),
                _ => None,
            };
            if let Some(second) = escape_pair(escaped, table) {
                out.push_str(&second);
            } else {
                let byte = u8::try_from(u32::from(ch)).unwrap_or(b'?');
                let found = (0x20u8..=0x7F).find(|&e| DECODE[usize::from(e - 0x20)][table] == byte);
                let encoded = if byte == DECODE_TAB[table] && found.is_none() { Some(9) } else { found };
                out.push(char::from(encoded.unwrap_or(byte)));
            }
            position = (position + 1) % 64;
        }
        out
    }

    fn escape_pair(escaped: Option<char>, table: usize) -> Option<String> {
        let second = escaped?;
        let at = (0x20u8..=0x7F).find(|&e| DECODE[usize::from(e - 0x20)][table] == 0xFF)?;
        Some(format!("{}{second}", char::from(at)))
    }

    #[test]
    fn each_table_is_a_permutation_of_the_printable_characters() {
        for table in 0..3 {
            let mut seen: Vec<u8> = DECODE.iter().map(|row| row[table]).filter(|&b| b != 0xFF).collect();
            seen.push(DECODE_TAB[table]);
            seen.sort_unstable();
            seen.dedup();
            let mut expected: Vec<u8> = (0x20u8..=0x7F).filter(|&b| b != b'@').collect();
            expected.push(9);
            expected.sort_unstable();
            assert_eq!(seen, expected, "table {table}");
        }
    }

    #[test]
    fn encoded_text_decodes_back_including_escapes() {
        let plain = "<%\r\nexecute request(\"x\") ' @ > <\r\n%>";
        let encoded = encode(plain);
        assert_ne!(encoded, plain);
        assert_eq!(decode_payload(encoded.as_bytes(), 1 << 20, CodePage::SingleByte), plain.as_bytes());
    }

    #[test]
    fn blocks_in_a_page_are_replaced_and_the_rest_kept() {
        let payload = encode("eval request(\"z\")");
        let page = format!("<%@ LANGUAGE = VBScript.Encode %><%#@~^EQAAAA=={payload}mwQAAA==^#~@%>after");
        let decoded = decode_blocks(page.as_bytes(), 1 << 20).unwrap_or_default();
        assert_eq!(decoded, b"<%@ LANGUAGE = VBScript.Encode %><%eval request(\"z\")%>after");
    }

    #[test]
    fn budget_bounds_the_output_and_broken_blocks_stay() {
        let payload = encode(&"a".repeat(1000));
        assert_eq!(decode_payload(payload.as_bytes(), 10, CodePage::SingleByte).len(), 10);
        assert!(decode_blocks(b"x #@~^ no end", 100).is_none());
        assert!(decode_blocks(b"#@~^short^#~@", 100).is_none());
        assert!(decode_blocks("#@~^a\u{20AC}\u{20AC}==xx^#~@".as_bytes(), 100).is_none());
    }

    /// The encoder's output for `plain` in a code page: bytes at or above 0x80 (and,
    /// double-byte, the byte after a lead byte) copied, the table position not moved.
    fn encode_bytes(plain: &[u8], code_page: CodePage) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        let mut ascii = String::new();
        let flush = |ascii: &mut String, out: &mut Vec<u8>, position: &mut usize| {
            // Encode the ASCII run from the current position, then account for it.
            let padded = format!("{}{}", "\u{1}".repeat(*position), ascii);
            let encoded = encode(&padded);
            out.extend_from_slice(&encoded.as_bytes()[*position..]);
            *position = (*position + ascii.chars().count()) % 64;
            ascii.clear();
        };
        let mut position = 0usize;
        while i < plain.len() {
            let byte = plain[i];
            if byte < 0x80 {
                ascii.push(char::from(byte));
                i += 1;
                continue;
            }
            flush(&mut ascii, &mut out, &mut position);
            out.push(byte);
            if code_page == CodePage::DoubleByte && (0x81..=0xFE).contains(&byte) && i + 1 < plain.len() {
                out.push(plain[i + 1]);
                i += 1;
            }
            i += 1;
        }
        flush(&mut ascii, &mut out, &mut position);
        out
    }

    #[test]
    fn a_copy_that_lost_its_del_characters_still_decodes() {
        let plain =
            "<%\r\nset server_object=server.createobject(\"x\")\r\nresponse.write request(\"e\")\r\nend if\r\n%>";
        let damaged = encode(plain).replace('\u{7f}', " ");
        assert!(plain.contains('e') && encode(plain).contains('\u{7f}'));
        let page = format!("#@~^AAAAAA=={damaged}AAAAAA==^#~@");
        assert_eq!(decode_blocks(page.as_bytes(), 1 << 20).unwrap_or_default(), plain.as_bytes());
        // A space that is a space (a `-` in the script) stays one when nothing reads better.
        let dashes = "a - b - c";
        let page = format!("#@~^AAAAAA=={}AAAAAA==^#~@", encode(dashes));
        assert_eq!(decode_blocks(page.as_bytes(), 1 << 20).unwrap_or_default(), dashes.as_bytes());
    }

    #[test]
    fn high_bytes_keep_the_table_position_in_either_code_page() {
        // Turkish (1254, one byte per letter) and Chinese (936: the trail byte of a
        // character may be ASCII, here 0x40 '@' and 0x5B '[').
        let turkish = b"' yaz\xFDl\xFDm\r\nif request(\"a\")=\"b\" then response.write \"x\"\r\nend if";
        let chinese = b"' \xB0\x40\xC4\x5B\r\nset o=server.createobject(\"x\")\r\nif request(\"k\")<>\"\" then execute request(\"k\")";
        for (plain, code_page) in [(&turkish[..], CodePage::SingleByte), (&chinese[..], CodePage::DoubleByte)] {
            let payload = encode_bytes(plain, code_page);
            let mut page = b"<%#@~^AAAAAA==".to_vec();
            page.extend_from_slice(&payload);
            page.extend_from_slice(b"AAAAAA==^#~@%>");
            let decoded = decode_blocks(&page, 1 << 20).unwrap_or_default();
            assert_eq!(&decoded[2..decoded.len() - 2], plain, "{code_page:?}");
        }
    }

    #[test]
    fn copies_re_encoded_as_utf8_or_cut_short_still_decode() {
        let chinese = b"' \xB0\x40\xC4\x5B\r\nset o=server.createobject(\"x\")\r\nif request(\"k\")<>\"\" then execute request(\"k\")";
        let payload = encode_bytes(chinese, CodePage::DoubleByte);
        // Each high byte read as Windows-1252 (0x80 is the euro sign) and written as UTF-8.
        let mangled: String = payload.iter().map(|&b| if b == 0x80 { '\u{20AC}' } else { char::from(b) }).collect();
        let page = format!("<%#@~^AAAAAA=={mangled}AAAAAA==^#~@%>");
        let decoded = decode_blocks(page.as_bytes(), 1 << 20).unwrap_or_default();
        assert_eq!(&decoded[2..decoded.len() - 2], chinese);
        // No end marker: read up to the server block's close.
        let plain = "set o=server.createobject(\"x\")\r\nexecute request(\"k\")";
        let page = format!("<%#@~^AAAAAA=={}%>after", encode(plain));
        let decoded = decode_blocks(page.as_bytes(), 1 << 20).unwrap_or_default();
        assert_eq!(String::from_utf8_lossy(&decoded), format!("<%{plain}%>after"));
    }
}
