from __future__ import annotations

from pathlib import Path

from bot.content import ContentReader


def test_reader_names_file_and_key_for_each_problem(tmp_path: Path) -> None:
    root = tmp_path / "content"
    root.mkdir()
    path = root / "things.toml"
    path.write_text('[[thing]]\nid = "a"\ntitle = 5\ncolour = "red"\n')
    reader = ContentReader(root)
    data = reader.toml(path)
    assert data is not None
    thing = data["thing"][0]
    assert reader.get(thing, "id", str, path, "thing[0]") == "a"
    assert reader.get(thing, "title", str, path, "thing[0]") is None
    assert reader.get(thing, "body", str, path, "thing[0]") is None
    assert reader.get(thing, "count", int, path, "thing[0]", required=False, default=3) == 3
    reader.unknown_keys(thing, {"id", "title", "body"}, path, "thing[0]")
    shown = [str(p) for p in reader.problems]
    assert shown == [
        "content/things.toml: thing[0].title: must be text, not int",
        "content/things.toml: thing[0].body: is required",
        "content/things.toml: thing[0].colour: is not a known key (known: body, id, title)",
    ]


def test_reader_reports_malformed_and_missing_files(tmp_path: Path) -> None:
    root = tmp_path / "content"
    root.mkdir()
    (root / "bad.toml").write_text("x = [")
    (root / "page.md").write_text("no front matter")
    reader = ContentReader(root)
    assert reader.toml(root / "bad.toml") is None
    assert reader.toml(root / "missing.toml") is None
    assert reader.markdown(root / "page.md") is None
    files = [(p.file, p.key) for p in reader.problems]
    assert files == [
        ("content/bad.toml", "(file)"),
        ("content/missing.toml", "(file)"),
        ("content/page.md", "(front matter)"),
    ]


def test_markdown_front_matter_is_split(tmp_path: Path) -> None:
    root = tmp_path / "content"
    root.mkdir()
    (root / "card.md").write_text('+++\ntitle = "Breathing"\n+++\nIn for four.\n')
    reader = ContentReader(root)
    assert reader.markdown(root / "card.md") == ({"title": "Breathing"}, "In for four.")
    assert reader.problems == []


def test_length_limits_and_custom_checks(tmp_path: Path) -> None:
    reader = ContentReader(tmp_path)
    table = {"answer": "x" * 5000, "score": 120}
    assert reader.get(table, "answer", str, tmp_path / "f.toml", max_length=4096) is None
    assert reader.get(table, "score", int, tmp_path / "f.toml",
                      check=lambda v: None if 0 <= v <= 100 else "must be 0 to 100") is None
    assert [p.message for p in reader.problems] == ["is 5000 long; the limit is 4096", "must be 0 to 100"]
