import { decodeMessage, encodeMessage, enumeration, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface StorageMessage {
  type: StorageMessage.Type
  offered: bigint
  free: bigint
  root: Uint8Array<ArrayBuffer>
  cids: Uint8Array<ArrayBuffer>[]
  bytes: bigint
  expires: bigint
  reason: string
  bitfield: Uint8Array<ArrayBuffer>
  owner: Uint8Array<ArrayBuffer>
}

export namespace StorageMessage {
  export enum Type {
    OFFER_QUERY = 'OFFER_QUERY',
    OFFER = 'OFFER',
    HOLD = 'HOLD',
    HELD = 'HELD',
    REFUSED = 'REFUSED',
    RELEASE = 'RELEASE',
    RELEASED = 'RELEASED',
    HAS = 'HAS',
    HAVE = 'HAVE'
  }

  enum __TypeValues {
    OFFER_QUERY = 0,
    OFFER = 1,
    HOLD = 2,
    HELD = 3,
    REFUSED = 4,
    RELEASE = 5,
    RELEASED = 6,
    HAS = 7,
    HAVE = 8
  }

  export namespace Type {
    export const codec = (): Codec<Type> => {
      return enumeration<Type>(__TypeValues)
    }
  }

  let _codec: Codec<StorageMessage>

  export const codec = (): Codec<StorageMessage> => {
    if (_codec == null) {
      _codec = message<StorageMessage>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.type != null && __TypeValues[obj.type] !== 0) {
          w.uint32(8)
          StorageMessage.Type.codec().encode(obj.type, w)
        }

        if ((obj.offered != null && obj.offered !== 0n)) {
          w.uint32(16)
          w.uint64(obj.offered)
        }

        if ((obj.free != null && obj.free !== 0n)) {
          w.uint32(24)
          w.uint64(obj.free)
        }

        if ((obj.root != null && obj.root.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.root)
        }

        if (obj.cids != null && obj.cids.length > 0) {
          for (const value of obj.cids) {
            w.uint32(42)
            w.bytes(value)
          }
        }

        if ((obj.bytes != null && obj.bytes !== 0n)) {
          w.uint32(48)
          w.uint64(obj.bytes)
        }

        if ((obj.expires != null && obj.expires !== 0n)) {
          w.uint32(56)
          w.uint64(obj.expires)
        }

        if ((obj.reason != null && obj.reason !== '')) {
          w.uint32(66)
          w.string(obj.reason)
        }

        if ((obj.bitfield != null && obj.bitfield.byteLength > 0)) {
          w.uint32(74)
          w.bytes(obj.bitfield)
        }

        if ((obj.owner != null && obj.owner.byteLength > 0)) {
          w.uint32(82)
          w.bytes(obj.owner)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          type: Type.OFFER_QUERY,
          offered: 0n,
          free: 0n,
          root: uint8ArrayAlloc(0),
          cids: [],
          bytes: 0n,
          expires: 0n,
          reason: '',
          bitfield: uint8ArrayAlloc(0),
          owner: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.type = StorageMessage.Type.codec().decode(reader)
              break
            }
            case 2: {
              obj.offered = reader.uint64()
              break
            }
            case 3: {
              obj.free = reader.uint64()
              break
            }
            case 4: {
              obj.root = reader.bytes()
              break
            }
            case 5: {
              if (opts.limits?.cids != null && obj.cids.length === opts.limits.cids) {
                throw new MaxLengthError('Decode error - repeated field "cids" had too many elements')
              }

              obj.cids.push(reader.bytes())
              break
            }
            case 6: {
              obj.bytes = reader.uint64()
              break
            }
            case 7: {
              obj.expires = reader.uint64()
              break
            }
            case 8: {
              obj.reason = reader.string()
              break
            }
            case 9: {
              obj.bitfield = reader.bytes()
              break
            }
            case 10: {
              obj.owner = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          cids: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.type`,
                value: StorageMessage.Type.codec().decode(reader)
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.offered`,
                value: reader.uint64()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.free`,
                value: reader.uint64()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.root`,
                value: reader.bytes()
              }
              break
            }
            case 5: {
              if (opts.limits?.cids != null && obj.cids === opts.limits.cids) {
                throw new MaxLengthError('Streaming decode error - repeated field "cids" had too many elements')
              }

              yield {
                field: `${prefix}.cids[]`,
                index: obj.cids,
                value: reader.bytes()
              }

              obj.cids++

              break
            }
            case 6: {
              yield {
                field: `${prefix}.bytes`,
                value: reader.uint64()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.expires`,
                value: reader.uint64()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.reason`,
                value: reader.string()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.bitfield`,
                value: reader.bytes()
              }
              break
            }
            case 10: {
              yield {
                field: `${prefix}.owner`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface StorageMessageTypeFieldEvent {
    field: '$.type'
    value: StorageMessage.Type
  }

  export interface StorageMessageOfferedFieldEvent {
    field: '$.offered'
    value: bigint
  }

  export interface StorageMessageFreeFieldEvent {
    field: '$.free'
    value: bigint
  }

  export interface StorageMessageRootFieldEvent {
    field: '$.root'
    value: Uint8Array<ArrayBuffer>
  }

  export interface StorageMessageCidsFieldEvent {
    field: '$.cids[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface StorageMessageBytesFieldEvent {
    field: '$.bytes'
    value: bigint
  }

  export interface StorageMessageExpiresFieldEvent {
    field: '$.expires'
    value: bigint
  }

  export interface StorageMessageReasonFieldEvent {
    field: '$.reason'
    value: string
  }

  export interface StorageMessageBitfieldFieldEvent {
    field: '$.bitfield'
    value: Uint8Array<ArrayBuffer>
  }

  export interface StorageMessageOwnerFieldEvent {
    field: '$.owner'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<StorageMessage>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, StorageMessage.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<StorageMessage>): StorageMessage {
    return decodeMessage(buf, StorageMessage.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<StorageMessage>): Generator<StorageMessageTypeFieldEvent | StorageMessageOfferedFieldEvent | StorageMessageFreeFieldEvent | StorageMessageRootFieldEvent | StorageMessageCidsFieldEvent | StorageMessageBytesFieldEvent | StorageMessageExpiresFieldEvent | StorageMessageReasonFieldEvent | StorageMessageBitfieldFieldEvent | StorageMessageOwnerFieldEvent> {
    return streamMessage(buf, StorageMessage.codec(), opts)
  }
}
