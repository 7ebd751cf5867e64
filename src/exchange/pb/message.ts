import { decodeMessage, encodeMessage, enumeration, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface Message {
  type: Message.Type
  id: bigint
  root: Uint8Array<ArrayBuffer>
  cids: Uint8Array<ArrayBuffer>[]
  haveOnly: boolean
  bitfield: Uint8Array<ArrayBuffer>
  cid: Uint8Array<ArrayBuffer>
  data: Uint8Array<ArrayBuffer>
  bytes: bigint
  blocks: bigint
  started: bigint
  completed: bigint
}

export namespace Message {
  export enum Type {
    WANT = 'WANT',
    HAVE = 'HAVE',
    BLOCK = 'BLOCK',
    DONT_HAVE = 'DONT_HAVE',
    CANCEL = 'CANCEL',
    RECEIPT = 'RECEIPT'
  }

  enum __TypeValues {
    WANT = 0,
    HAVE = 1,
    BLOCK = 2,
    DONT_HAVE = 3,
    CANCEL = 4,
    RECEIPT = 5
  }

  export namespace Type {
    export const codec = (): Codec<Type> => {
      return enumeration<Type>(__TypeValues)
    }
  }

  let _codec: Codec<Message>

  export const codec = (): Codec<Message> => {
    if (_codec == null) {
      _codec = message<Message>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.type != null && __TypeValues[obj.type] !== 0) {
          w.uint32(8)
          Message.Type.codec().encode(obj.type, w)
        }

        if ((obj.id != null && obj.id !== 0n)) {
          w.uint32(16)
          w.uint64(obj.id)
        }

        if ((obj.root != null && obj.root.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.root)
        }

        if (obj.cids != null && obj.cids.length > 0) {
          for (const value of obj.cids) {
            w.uint32(34)
            w.bytes(value)
          }
        }

        if ((obj.haveOnly != null && obj.haveOnly !== false)) {
          w.uint32(40)
          w.bool(obj.haveOnly)
        }

        if ((obj.bitfield != null && obj.bitfield.byteLength > 0)) {
          w.uint32(50)
          w.bytes(obj.bitfield)
        }

        if ((obj.cid != null && obj.cid.byteLength > 0)) {
          w.uint32(58)
          w.bytes(obj.cid)
        }

        if ((obj.data != null && obj.data.byteLength > 0)) {
          w.uint32(66)
          w.bytes(obj.data)
        }

        if ((obj.bytes != null && obj.bytes !== 0n)) {
          w.uint32(72)
          w.uint64(obj.bytes)
        }

        if ((obj.blocks != null && obj.blocks !== 0n)) {
          w.uint32(80)
          w.uint64(obj.blocks)
        }

        if ((obj.started != null && obj.started !== 0n)) {
          w.uint32(88)
          w.uint64(obj.started)
        }

        if ((obj.completed != null && obj.completed !== 0n)) {
          w.uint32(96)
          w.uint64(obj.completed)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          type: Type.WANT,
          id: 0n,
          root: uint8ArrayAlloc(0),
          cids: [],
          haveOnly: false,
          bitfield: uint8ArrayAlloc(0),
          cid: uint8ArrayAlloc(0),
          data: uint8ArrayAlloc(0),
          bytes: 0n,
          blocks: 0n,
          started: 0n,
          completed: 0n
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.type = Message.Type.codec().decode(reader)
              break
            }
            case 2: {
              obj.id = reader.uint64()
              break
            }
            case 3: {
              obj.root = reader.bytes()
              break
            }
            case 4: {
              if (opts.limits?.cids != null && obj.cids.length === opts.limits.cids) {
                throw new MaxLengthError('Decode error - repeated field "cids" had too many elements')
              }

              obj.cids.push(reader.bytes())
              break
            }
            case 5: {
              obj.haveOnly = reader.bool()
              break
            }
            case 6: {
              obj.bitfield = reader.bytes()
              break
            }
            case 7: {
              obj.cid = reader.bytes()
              break
            }
            case 8: {
              obj.data = reader.bytes()
              break
            }
            case 9: {
              obj.bytes = reader.uint64()
              break
            }
            case 10: {
              obj.blocks = reader.uint64()
              break
            }
            case 11: {
              obj.started = reader.uint64()
              break
            }
            case 12: {
              obj.completed = reader.uint64()
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
                value: Message.Type.codec().decode(reader)
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.id`,
                value: reader.uint64()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.root`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
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
            case 5: {
              yield {
                field: `${prefix}.haveOnly`,
                value: reader.bool()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.bitfield`,
                value: reader.bytes()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.cid`,
                value: reader.bytes()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.data`,
                value: reader.bytes()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.bytes`,
                value: reader.uint64()
              }
              break
            }
            case 10: {
              yield {
                field: `${prefix}.blocks`,
                value: reader.uint64()
              }
              break
            }
            case 11: {
              yield {
                field: `${prefix}.started`,
                value: reader.uint64()
              }
              break
            }
            case 12: {
              yield {
                field: `${prefix}.completed`,
                value: reader.uint64()
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

  export interface MessageTypeFieldEvent {
    field: '$.type'
    value: Message.Type
  }

  export interface MessageIdFieldEvent {
    field: '$.id'
    value: bigint
  }

  export interface MessageRootFieldEvent {
    field: '$.root'
    value: Uint8Array<ArrayBuffer>
  }

  export interface MessageCidsFieldEvent {
    field: '$.cids[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface MessageHaveOnlyFieldEvent {
    field: '$.haveOnly'
    value: boolean
  }

  export interface MessageBitfieldFieldEvent {
    field: '$.bitfield'
    value: Uint8Array<ArrayBuffer>
  }

  export interface MessageCidFieldEvent {
    field: '$.cid'
    value: Uint8Array<ArrayBuffer>
  }

  export interface MessageDataFieldEvent {
    field: '$.data'
    value: Uint8Array<ArrayBuffer>
  }

  export interface MessageBytesFieldEvent {
    field: '$.bytes'
    value: bigint
  }

  export interface MessageBlocksFieldEvent {
    field: '$.blocks'
    value: bigint
  }

  export interface MessageStartedFieldEvent {
    field: '$.started'
    value: bigint
  }

  export interface MessageCompletedFieldEvent {
    field: '$.completed'
    value: bigint
  }

  export function encode (obj: Partial<Message>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Message.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Message>): Message {
    return decodeMessage(buf, Message.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Message>): Generator<MessageTypeFieldEvent | MessageIdFieldEvent | MessageRootFieldEvent | MessageCidsFieldEvent | MessageHaveOnlyFieldEvent | MessageBitfieldFieldEvent | MessageCidFieldEvent | MessageDataFieldEvent | MessageBytesFieldEvent | MessageBlocksFieldEvent | MessageStartedFieldEvent | MessageCompletedFieldEvent> {
    return streamMessage(buf, Message.codec(), opts)
  }
}
