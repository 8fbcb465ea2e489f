-- Pandoc filter for the compendium's paper.
--
-- 1. Keeps `::: if-synthetic` blocks only when the dataset is synthetic and
--    `::: if-real` blocks only when it is not (metadata field `synthetic`);
--    `::: {.if-study name="..."}` blocks only when the dataset's design names
--    that study and `::: {.unless-study name="..."}` blocks only when it does
--    not (metadata field `study`), so that prose interpreting one study's codes
--    is never printed over another study's data; `::: {.if-value key="..."}`
--    blocks only when a run recorded that value as true, and
--    `::: {.unless-value key="..."}` blocks only when it did not (metadata
--    field `true-values`), so a display whose subject is absent is left out.
-- 2. Numbers figures and tables in document order and prefixes each caption
--    with "Figure N." or "Table N.", the same in every output format.
-- 3. Turns `@fig-...` and `@tbl-...` into linked "Figure N" / "Table N" and
--    stops the build on a label that does not exist.
-- 4. Uses the PNG version of figures for DOCX, which does not show SVG, and sets
--    the text of every DOCX table cell in the "Table Text" style, which the
--    reference document the build gives pandoc (pipeline/pandoc.py) sizes as the
--    PDF's tables: at the body's size a narrow column broke its words.
-- 5. Marks, for the PDF (Typst), where the parts of its look go, so the
--    manuscript stays format-neutral: the synthetic-data notice, the table of
--    contents before the first section, the appendices, and a figure's
--    classes. What each looks like is paper.typ's (the HTML's, paper.css's);
--    other formats drop a figure's classes, which are the PDF's only.
--
-- The build parses the paper once to pandoc's JSON (FORMAT "json": steps 1-3)
-- and runs this filter again when writing each format (step 4, the Typst
-- keywords, and dropping the bibliography's path, which the parse has used);
-- the parse marks the document so that the writers do not number the displays
-- a second time.

local synthetic = true
local study = ""
local true_values = {}
local numbers = {}
local counters = { fig = 0, tbl = 0 }
local names = { fig = "Figure", tbl = "Table" }

local function kind_of(id)
  return id:match("^(fig)%-") or id:match("^(tbl)%-")
end

local resolved = false

local function read_meta(meta)
  local changed = false
  if FORMAT == "json" then
    meta["crossref-resolved"] = true
    changed = true
  elseif meta["crossref-resolved"] ~= nil then
    resolved = true
    meta["crossref-resolved"] = nil
    -- Citations were resolved in the parse; the bibliography's path is all that
    -- is left of it, and the DOCX writer would keep it (an absolute path) in the
    -- document's properties.
    meta.bibliography = nil
    changed = true
  end
  if meta.study ~= nil then
    study = pandoc.utils.stringify(meta.study)
  end
  if meta["true-values"] ~= nil then
    for key in pandoc.utils.stringify(meta["true-values"]):gmatch("[^,]+") do
      true_values[key] = true
    end
  end
  if meta.synthetic ~= nil then
    synthetic = (pandoc.utils.stringify(meta.synthetic) == "true")
  end
  -- Pandoc's Typst template writes keywords into a Typst array unquoted, which
  -- breaks on any keyword with a space; hand it quoted strings instead.
  if FORMAT:match("typst") and meta.keywords then
    local quoted = pandoc.List()
    for _, keyword in ipairs(meta.keywords) do
      local text = pandoc.utils.stringify(keyword):gsub("\\", "\\\\"):gsub('"', '\\"')
      quoted:insert(pandoc.MetaInlines({ pandoc.RawInline("typst", '"' .. text .. '"') }))
    end
    meta.keywords = quoted
    changed = true
  end
  if changed then return meta end
end

local function keep_conditional(div)
  if resolved then return nil end
  if div.classes:includes("if-synthetic") then
    if synthetic then return div.content else return {} end
  end
  if div.classes:includes("if-real") then
    if synthetic then return {} else return div.content end
  end
  local wanted = div.attributes["name"]
  if div.classes:includes("if-study") or div.classes:includes("unless-study") then
    if not wanted or wanted == "" then
      error("a ::: if-study or ::: unless-study block needs name=\"the study\"")
    end
    local same = (study == wanted)
    if div.classes:includes("unless-study") then same = not same end
    if same then return div.content else return {} end
  end
  if div.classes:includes("if-value") or div.classes:includes("unless-value") then
    local key = div.attributes["key"]
    if not key or key == "" then
      error("a ::: if-value or ::: unless-value block needs key=\"a value's key\"")
    end
    local holds = true_values[key] == true
    if div.classes:includes("unless-value") then holds = not holds end
    if holds then return div.content else return {} end
  end
end

local function prefix_caption(caption, label)
  local lead = pandoc.Strong({ pandoc.Str(label .. ".") })
  if #caption.long > 0 and caption.long[1].content then
    caption.long[1].content:insert(1, pandoc.Space())
    caption.long[1].content:insert(1, lead)
  else
    caption.long = { pandoc.Plain({ lead }) }
  end
  return caption
end

local function number(element)
  if resolved then return nil end
  local id = element.identifier or (element.attr and element.attr.identifier) or ""
  local kind = kind_of(id)
  if not kind then return nil end
  if numbers[id] then error("label '" .. id .. "' is used twice in the paper") end
  counters[kind] = counters[kind] + 1
  -- a non-breaking space keeps "Figure" and its number on one line
  numbers[id] = names[kind] .. "\u{00A0}" .. counters[kind]
  element.caption = prefix_caption(element.caption, numbers[id])
  return element
end

local function resolve(cite)
  if resolved then return nil end
  local out = pandoc.List()
  for i, c in ipairs(cite.citations) do
    local kind = kind_of(c.id)
    if not kind then return nil end
    local label = numbers[c.id]
    if not label then
      error("unknown cross-reference @" .. c.id .. ": no figure or table has that label")
    end
    if i > 1 then out:insert(pandoc.Str(", ")) end
    out:insert(pandoc.Link({ pandoc.Str(label) }, "#" .. c.id))
  end
  return out
end

local function png_for_docx(image)
  if FORMAT:match("docx") then
    image.src = image.src:gsub("%.svg$", ".png")
    return image
  end
end

-- Each cell's text as paragraphs of the DOCX table style: the writer gives a
-- custom-style Div's paragraphs that style, and its cells' plain text "Compact",
-- the style of tight lists too, which keep it.
local TABLE_TEXT = "Table Text"

local function table_text_for_docx(tbl)
  local function style_row(row)
    for _, cell in ipairs(row.cells) do
      local blocks = pandoc.Blocks({})
      for _, block in ipairs(cell.contents) do  -- a cell's own blocks: a walk took a tenth
        blocks:insert(block.t == "Plain" and pandoc.Para(block.content) or block)
      end
      -- An empty cell gets a space: the writer gives a cell with no text a paragraph of its
      -- own, in the body's size, which made its row taller than its text.
      if #blocks == 0 then blocks = pandoc.Blocks({ pandoc.Para({ pandoc.Space() }) }) end
      cell.contents = { pandoc.Div(blocks, { ["custom-style"] = TABLE_TEXT }) }
    end
  end
  for _, row in ipairs(tbl.head.rows) do style_row(row) end
  for _, body in ipairs(tbl.bodies) do
    for _, row in ipairs(body.head) do style_row(row) end
    for _, row in ipairs(body.body) do style_row(row) end
  end
  for _, row in ipairs(tbl.foot.rows) do style_row(row) end
  return tbl
end

-- Where the PDF's parts go (Typst only): calls of the functions paper.typ
-- defines, which hold their look.
local NOTICE_OPEN = "#notice["
local OUTLINE = "#contents()"
local APPENDICES = "#show: appendices"

local function notice_box(div)
  if FORMAT:match("typst") and div.classes:includes("synthetic-notice") then
    return { pandoc.RawBlock("typst", NOTICE_OPEN), div, pandoc.RawBlock("typst", "]") }
  end
end

-- A figure's classes (`{{figure fig-id .float}}` in paper.md; pandoc keeps them
-- on the figure's image) reach Typst as `#classed("float")[...]` around the
-- figure; every format drops them from the figure itself.
local function figure_classes(figure)
  if FORMAT == "json" then return nil end
  local classes = pandoc.List(figure.classes)
  figure.classes = {}
  figure = figure:walk({ Image = function(image)
    if #image.classes == 0 then return nil end
    classes:extend(image.classes)
    image.classes = {}
    return image
  end })
  if #classes == 0 then return nil end
  if not FORMAT:match("typst") then return figure end
  local names = classes:map(function(class)
    return '"' .. class:gsub("\\", "\\\\"):gsub('"', '\\"') .. '"'
  end)
  return { pandoc.RawBlock("typst", "#classed(" .. table.concat(names, ", ") .. ")["),
           figure, pandoc.RawBlock("typst", "]") }
end

local function page_layout(doc)
  if not FORMAT:match("typst") then return nil end
  local blocks = pandoc.List()
  local outlined = false
  for _, block in ipairs(doc.blocks) do
    if block.t == "Header" and block.level == 1 then
      if not outlined then
        blocks:insert(pandoc.RawBlock("typst", OUTLINE))
        outlined = true
      end
      if block.identifier == "appendices" then
        blocks:insert(pandoc.RawBlock("typst", APPENDICES))
      end
    end
    blocks:insert(block)
  end
  doc.blocks = blocks
  return doc
end

-- Only the passes that can change something in this format: a pass pandoc is
-- given walks the whole document even where each of its functions returns nil,
-- and the writers of HTML and DOCX would pay for Typst's passes. Which passes
-- run changes no output.
local typst = FORMAT:match("typst") ~= nil
local passes = pandoc.List({ { Meta = read_meta }, { Div = keep_conditional } })
if typst then
  passes:insert({ Div = notice_box, Figure = figure_classes, Pandoc = page_layout })
elseif FORMAT ~= "json" then
  passes:insert({ Figure = figure_classes })
end
passes:insert({ Figure = number, Table = number })
passes:insert({ Cite = resolve, Image = FORMAT:match("docx") and png_for_docx or nil })
if FORMAT:match("docx") then
  passes:insert({ Table = table_text_for_docx })
end
return passes
