-- Pandoc filter for the compendium's paper.
--
-- 1. Keeps `::: if-synthetic` blocks only when the dataset is synthetic and
--    `::: if-real` blocks only when it is not (metadata field `synthetic`).
-- 2. Numbers figures and tables in document order and prefixes each caption
--    with "Figure N." or "Table N.", the same in every output format.
-- 3. Turns `@fig-...` and `@tbl-...` into linked "Figure N" / "Table N" and
--    stops the build on a label that does not exist.
-- 4. Uses the PNG version of figures for DOCX, which does not show SVG.
--
-- The build parses the paper once to pandoc's JSON (FORMAT "json": steps 1-3)
-- and runs this filter again when writing each format (step 4 and the Typst
-- keywords); the parse marks the document so that the writers do not number
-- the displays a second time.

local synthetic = true
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
    changed = true
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

return {
  { Meta = read_meta },
  { Div = keep_conditional },
  { Figure = number, Table = number },
  { Cite = resolve, Image = png_for_docx },
}
