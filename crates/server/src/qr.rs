//! Pictures of codes: QR codes as SVG and PNG, the payment code as a Code 128
//! barcode, and reading a QR code out of a photo.

use base64::Engine;
use qiao_api as api;
use qiao_domain::Error;

/// A QR code's text with an SVG and a PNG of it.
pub fn render(payload: &str) -> Result<api::QrImage, Error> {
    Ok(api::QrImage {
        payload: payload.to_owned(),
        svg: svg(payload)?,
        png_base64: base64::engine::general_purpose::STANDARD.encode(png(payload)?),
    })
}

/// A PNG of the QR code of `payload`.
pub fn png(payload: &str) -> Result<Vec<u8>, Error> {
    let code = qrcode::QrCode::new(payload.as_bytes()).map_err(|_| Error::Internal)?;
    let picture = code.render::<image::Luma<u8>>().min_dimensions(300, 300).build();
    let mut out = std::io::Cursor::new(Vec::new());
    picture
        .write_to(&mut out, image::ImageFormat::Png)
        .map_err(|_| Error::Internal)?;
    Ok(out.into_inner())
}

/// The SVG of a QR code alone.
pub fn svg(payload: &str) -> Result<String, Error> {
    let code = qrcode::QrCode::new(payload.as_bytes()).map_err(|_| Error::Internal)?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(240, 240)
        .build())
}

/// Digits as a Code 128 barcode (code set C), as SVG.
pub fn barcode_svg(digits: &str) -> Result<String, Error> {
    let barcode = barcoders::sym::code128::Code128::new(format!("\u{0106}{digits}")).map_err(|_| Error::Internal)?;
    barcoders::generators::svg::SVG::new(80)
        .generate(&barcode.encode()[..])
        .map_err(|_| Error::Internal)
}

/// The text of the first QR code found in a photo (PNG or JPEG).
pub fn decode_photo(bytes: &[u8]) -> Result<String, Error> {
    let picture = image::load_from_memory(bytes).map_err(|_| Error::UnsupportedMediaType)?;
    let mut prepared = rqrr::PreparedImage::prepare(picture.to_luma8());
    prepared
        .detect_grids()
        .iter()
        .find_map(|grid| grid.decode().ok().map(|(_, text)| text))
        .ok_or(Error::QrMalformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rendered_code_reads_back_from_its_png() {
        let payload =
            "00020101021126300012COM.QIAO.PAY0110100000000752045812530384054052.005802US5905Lucky6009Las Vegas6304ABCD";
        let image = png(payload).unwrap_or_default();
        assert_eq!(decode_photo(&image), Ok(payload.to_owned()));
        assert!(render(payload).is_ok_and(|r| r.svg.contains("<svg")));
        assert!(barcode_svg("180000000000000000").is_ok_and(|s| s.contains("<svg")));
        assert_eq!(decode_photo(b"not a picture"), Err(Error::UnsupportedMediaType));
    }
}
