-- Tracked changes of `compendium diff`: spans of class `insertion` and `deletion`.
-- The DOCX writer turns them into Word's own w:ins and w:del by itself; for HTML
-- they become <ins> and <del>, so any browser marks them without a style sheet.
function Span(el)
  if not FORMAT:match("html") then
    return nil
  end
  local tag = el.classes:includes("insertion") and "ins"
    or el.classes:includes("deletion") and "del" or nil
  if tag == nil then
    return nil
  end
  local out = pandoc.List({pandoc.RawInline("html", "<" .. tag .. ">")})
  out:extend(el.content)
  out:insert(pandoc.RawInline("html", "</" .. tag .. ">"))
  return out
end
