//! Text and sound: an entity span from the mouse (offsets in code points), a triplet from the
//! keyboard and the mouse, a speech segment from brackets.

use serde_json::json;

use super::*;
use crate::browser::Browser;

#[tokio::test]
async fn a_text_span_selected_with_the_mouse_gets_its_type_from_a_digit_in_code_points() {
    let Some(b) = Browser::start("entities").await else {
        return;
    };
    let t = spawn("sqlite").await;
    // An emoji is one code point but two UTF-16 units: offsets must count the former.
    let text = "😀 Ann met Bob in Paris.";
    let labels = json!([{"name": "PER", "type": 101, "property": {"@modelarts:color": "#8e24aa"}},
                        {"name": "LOC", "type": 101, "property": {"@modelarts:color": "#43a047"}}]);
    let (ds, sample) = one_sample(&t, 101, labels, "1.txt", text.as_bytes(), 1).await;
    let (task, workers) = started_task(&t, &ds, &[(ANN, 0)], 1).await;
    let ann = &workers[0];

    open_task_until(&b, &t, ANN, "window.__teamlabel && window.__teamlabel.copy && document.getElementById('text-body').textContent.includes('Paris')").await;
    select_by_mouse(&b, "Paris").await;
    b.chord(&["2"]).await;
    b.wait("the LOC span", "document.querySelector('#text-body mark') && document.querySelector('#text-body mark').textContent === 'Paris'").await;
    b.screenshot("a-named-entity").await;
    save(&b).await;
    let copy = copy_of(&t, &task, &sample, ann).await;
    let start = text.chars().position(|c| c == 'P').unwrap();
    assert_eq!(
        copy["labels"],
        json!([{"name": "LOC", "type": 101, "property": {"@modelarts:start_index": start, "@modelarts:end_index": start + 5}}]),
        "{copy}"
    );
}

#[tokio::test]
async fn a_triplet_links_two_entities_marked_by_keyboard_and_by_mouse() {
    let Some(b) = Browser::start("triplets").await else {
        return;
    };
    let t = spawn("sqlite").await;
    let labels = json!([{"name": "PER", "type": 103}, {"name": "ORG", "type": 103},
        {"name": "works_at", "type": 102, "property": {"@modelarts:from_type": "PER", "@modelarts:to_type": "ORG"}}]);
    let (ds, sample) = one_sample(&t, 102, labels, "1.txt", b"Ann works at Acme.", 1).await;
    let (task, workers) = started_task(&t, &ds, &[(ANN, 0)], 1).await;
    let ann = &workers[0];

    open_task_until(&b, &t, ANN, "window.__teamlabel && window.__teamlabel.copy && document.getElementById('text-body').textContent.includes('Acme')").await;
    // "Ann" from the keyboard: Shift+Right three times from the start of the text.
    for _ in 0..3 {
        b.chord(&["\u{E008}", "\u{E014}"]).await;
    }
    b.wait("a keyboard selection", "window.getSelection().toString() === 'Ann'")
        .await;
    b.chord(&["1"]).await;
    select_by_mouse(&b, "Acme").await;
    b.chord(&["2"]).await;
    b.wait(
        "two entities",
        "document.querySelectorAll('#text-body mark').length === 2",
    )
    .await;
    // Select Ann, press the relationship's digit, click Acme.
    b.click("#text-body mark:nth-of-type(1)").await;
    b.chord(&["3"]).await;
    b.click("#text-body mark:nth-of-type(2)").await;
    b.wait(
        "the relationship",
        "[...document.querySelectorAll('#shape-list li')].some((li) => li.textContent === 'works_at: Ann → Acme')",
    )
    .await;
    save(&b).await;
    let copy = copy_of(&t, &task, &sample, ann).await;
    assert_eq!(
        copy["labels"],
        json!([
            {"id": "E1", "name": "PER", "type": 103, "property": {"@modelarts:start_index": 0, "@modelarts:end_index": 3}},
            {"id": "E2", "name": "ORG", "type": 103, "property": {"@modelarts:start_index": 13, "@modelarts:end_index": 17}},
            {"id": "R1", "name": "works_at", "type": 102, "property": {"@modelarts:from": "E1", "@modelarts:to": "E2"}}
        ]),
        "{copy}"
    );
}

/// `seconds` of silence as a 8 kHz, 16-bit, mono WAV file.
fn wav(seconds: u32) -> Vec<u8> {
    let data_len = 8000 * 2 * seconds;
    let mut w = Vec::new();
    w.extend(b"RIFF");
    w.extend((36 + data_len).to_le_bytes());
    w.extend(b"WAVEfmt ");
    w.extend(16u32.to_le_bytes());
    w.extend(1u16.to_le_bytes()); // PCM
    w.extend(1u16.to_le_bytes()); // mono
    w.extend(8000u32.to_le_bytes());
    w.extend(16000u32.to_le_bytes());
    w.extend(2u16.to_le_bytes());
    w.extend(16u16.to_le_bytes());
    w.extend(b"data");
    w.extend(data_len.to_le_bytes());
    w.extend(std::iter::repeat_n(0u8, data_len as usize));
    w
}

#[tokio::test]
async fn a_speech_segment_is_marked_with_brackets_and_labeled_with_a_digit() {
    let Some(b) = Browser::start("speech").await else {
        return;
    };
    let t = spawn("sqlite").await;
    let labels = json!([{"name": "agent", "type": 202}, {"name": "caller", "type": 202}]);
    let (ds, sample) = one_sample(&t, 202, labels, "1.wav", &wav(2), 2).await;
    let (task, workers) = started_task(&t, &ds, &[(ANN, 0)], 1).await;
    let ann = &workers[0];

    open_task_until(
        &b,
        &t,
        ANN,
        "window.__teamlabel && window.__teamlabel.copy && document.getElementById('player').duration > 1.9",
    )
    .await;
    b.eval("document.getElementById('player').currentTime = 0.5;", json!([]))
        .await;
    b.wait(
        "the start position",
        "Math.abs(document.getElementById('player').currentTime - 0.5) < 0.001",
    )
    .await;
    b.chord(&["["]).await;
    b.eval("document.getElementById('player').currentTime = 1.25;", json!([]))
        .await;
    b.wait(
        "the end position",
        "Math.abs(document.getElementById('player').currentTime - 1.25) < 0.001",
    )
    .await;
    b.chord(&["]"]).await;
    b.chord(&["2"]).await;
    b.wait("the segment", "document.querySelector('#shape-list li') && document.querySelector('#shape-list li').textContent.startsWith('caller')").await;
    b.type_into("#content", "hello there").await;
    save(&b).await;
    let copy = copy_of(&t, &task, &sample, ann).await;
    assert_eq!(
        copy["labels"],
        json!([{"name": "caller", "type": 202, "property": {"@modelarts:start_time": "00:00:00.500", "@modelarts:end_time": "00:00:01.250", "@modelarts:content": "hello there"}}]),
        "{copy}"
    );
}
