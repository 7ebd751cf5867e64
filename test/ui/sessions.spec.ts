// The web page's login codes and sessions, on a clock the test moves.
import { expect } from 'chai'
import { LOGIN_CODE_TTL, SESSION_IDLE, UiSessions } from '../../src/api/ui-sessions.js'

describe('web-page logins (UiSessions)', () => {
  let now = 1_000_000
  const clock = (): number => now
  beforeEach(() => { now = 1_000_000 })

  it('takes a code once, within its 60 s', () => {
    const s = new UiSessions(clock)
    const { code, expires } = s.issueCode()
    expect(code).to.match(/^[\w-]{43}$/) // 32 random bytes
    expect(expires).to.equal(now + LOGIN_CODE_TTL)
    const id = s.redeem(code)
    expect(id).to.be.a('string').and.not.equal(code)
    expect(s.redeem(code)).to.equal(undefined)
    expect(s.touch(id as string)).to.equal(true)
    expect(s.touch(code)).to.equal(false)

    const late = s.issueCode()
    now += LOGIN_CODE_TTL + 1
    expect(s.redeem(late.code)).to.equal(undefined)
    expect(s.redeem('')).to.equal(undefined)
  })

  it('ends a session after 12 h without a call, and not while it is used', () => {
    const s = new UiSessions(clock)
    const id = s.redeem(s.issueCode().code) as string
    now += SESSION_IDLE - 1
    expect(s.touch(id)).to.equal(true) // the idle time starts again here
    now += SESSION_IDLE - 1
    expect(s.touch(id)).to.equal(true)
    now += SESSION_IDLE + 1
    expect(s.touch(id)).to.equal(false)
    now -= SESSION_IDLE // gone for good, not merely idle
    expect(s.touch(id)).to.equal(false)
  })

  it('keeps at most 16 codes and 64 sessions, dropping the oldest', () => {
    const s = new UiSessions(clock)
    const codes = Array.from({ length: 17 }, () => s.issueCode().code)
    expect(s.redeem(codes[0])).to.equal(undefined)
    expect(s.redeem(codes[16])).to.be.a('string')

    const ids: string[] = []
    for (let i = 0; i < 65; i++) ids.push(s.redeem(s.issueCode().code) as string)
    expect(s.touch(ids[0])).to.equal(false)
    expect(s.touch(ids[1])).to.equal(true) // used now, so no longer the oldest
    s.redeem(s.issueCode().code)
    expect(s.touch(ids[1])).to.equal(true)
    expect(s.touch(ids[2])).to.equal(false)
  })
})
