// Quill with only what the pad uses: the snow theme, the toolbar and the pad's formats.
// (The full "quill" entry also brings tables, syntax highlighting, images, video, formulas,
// fonts, colours and the bubble theme, about a third of the bundle.)

import Quill from 'quill/core.js'
import SnowTheme from 'quill/themes/snow.js'
import Toolbar from 'quill/modules/toolbar.js'
import Header from 'quill/formats/header.js'
import List from 'quill/formats/list.js'
import Indent from 'quill/formats/indent.js'
import Bold from 'quill/formats/bold.js'
import Italic from 'quill/formats/italic.js'
import Underline from 'quill/formats/underline.js'
import Strike from 'quill/formats/strike.js'
import Link from 'quill/formats/link.js'
import CodeBlock, { Code } from 'quill/formats/code.js'
import icons from 'quill/ui/icons.js'
import QuillCursors from 'quill-cursors/core'
import { AuthorFormat } from './authorship.js'

/**
 * The formats the pad keeps; anything else (pasted images, fonts, colours) is dropped.
 * `author` is who wrote a run (authorship.js): kept so that Quill's model matches the Y.Text.
 */
export const FORMATS = ['header', 'bold', 'italic', 'underline', 'strike', 'list', 'indent', 'link', 'code', 'code-block', 'author']

// Snow draws inline code and code blocks with the same icon: give the block a frame.
icons['code-block'] = '<svg viewBox="0 0 18 18"><rect class="ql-stroke ql-thin" x="1.5" y="2.5" width="15" height="13" rx="2"/>' +
  '<polyline class="ql-even ql-stroke" points="7 6.5 4.5 9 7 11.5"/><polyline class="ql-even ql-stroke" points="11 6.5 13.5 9 11 11.5"/></svg>'

Quill.register({
  'formats/header': Header,
  'formats/list': List,
  'formats/indent': Indent,
  'formats/bold': Bold,
  'formats/italic': Italic,
  'formats/underline': Underline,
  'formats/strike': Strike,
  'formats/link': Link,
  'formats/code': Code,
  'formats/code-block': CodeBlock,
  'formats/author': AuthorFormat,
  'modules/toolbar': Toolbar,
  'modules/cursors': QuillCursors,
  'themes/snow': SnowTheme
}, true)

export default Quill
