// The Content-Disposition a browser saves a download under.
import { expect } from 'chai'
import { attachment } from '../../src/api/content-disposition.js'

describe('attachment (Content-Disposition)', () => {
  it('names a plain file as it is', () => {
    expect(attachment('report 2026.pdf')).to.equal('attachment; filename="report 2026.pdf"; filename*=UTF-8\'\'report%202026.pdf')
  })

  it('gives an ASCII fallback without quotes or backslashes, and the UTF-8 name encoded', () => {
    expect(attachment('été "x"\\y.txt')).to.equal('attachment; filename="_t_ _x__y.txt"; filename*=UTF-8\'\'%C3%A9t%C3%A9%20%22x%22%5Cy.txt')
    // RFC 8187 attr-chars exclude ' ( ) *, which encodeURIComponent leaves as they are.
    expect(attachment("it's (1)*")).to.match(/filename\*=UTF-8''it%27s%20%281%29%2A$/)
  })

  it('names a file without a name "download"', () => {
    expect(attachment('')).to.equal('attachment; filename="download"; filename*=UTF-8\'\'download')
  })
})
