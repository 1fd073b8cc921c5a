/** Route schemas of users, tokens and sessions (TypeBox → JSON Schema, and the OpenAPI document). */
import { Type } from 'typebox';
import { MAX_PASSWORD_LENGTH } from './access/passwords.js';

const Role = Type.Union([Type.Literal('admin'), Type.Literal('operator'), Type.Literal('viewer')], { description: 'admin, operator or viewer (docs/access.md)' });
const Email = Type.String({ format: 'email', minLength: 3, maxLength: 254 });
const Password = Type.String({ minLength: 1, maxLength: MAX_PASSWORD_LENGTH });
const Name = Type.String({ minLength: 1, maxLength: 200, pattern: '^[^\\u0000-\\u001f\\u007f\\ud800-\\udfff]+$' });

/** POST /tokens */
export const TokenCreate = Type.Object({
  properties: Type.Object({
    name: Name,
    role: Type.Union([Type.Literal('admin'), Type.Literal('operator'), Type.Literal('viewer'), Type.Literal('consumer')], {
      description: 'a role, or consumer: limited to `scope`',
    }),
    expiresAt: Type.Optional(Type.String({ format: 'date-time', maxLength: 64, description: 'the token stops working then; omit for no expiry' })),
    scope: Type.Optional(Type.Object({
      autoCertificates: Type.Array(Type.String({ minLength: 1, maxLength: 200, pattern: '^[^\\u0000-\\u001f\\u007f\\ud800-\\udfff]+$' }), { minItems: 1, maxItems: 100, description: 'names of the auto certificates the token may read' }),
      includePrivateKey: Type.Optional(Type.Boolean({ default: false, description: 'whether it may export the private key too' })),
    }, { additionalProperties: false, description: 'required for, and only for, role consumer' })),
  }, { additionalProperties: false }),
}, { additionalProperties: false });

/** POST /users */
export const UserCreate = Type.Object({
  properties: Type.Object({ email: Email, role: Role }, { additionalProperties: false }),
}, { additionalProperties: false });

/** PATCH /users/{id} */
export const UserPatch = Type.Object({
  properties: Type.Object({
    role: Type.Optional(Role),
    reinvite: Type.Optional(Type.Boolean({ description: 'issue a new invitation (a password reset): the old password stops working and every session ends' })),
  }, { additionalProperties: false }),
}, { additionalProperties: false });

/** POST /users/activate */
export const UserActivate = Type.Object({
  invitation: Type.String({ minLength: 10, maxLength: 200, pattern: '^[A-Za-z0-9_-]+$' }),
  password: Password,
}, { additionalProperties: false });

/** POST /sessions */
export const Login = Type.Object({
  email: Email,
  password: Password,
  tenant: Type.Optional(Type.String({ minLength: 1, maxLength: 63, description: 'the tenant\'s name; needed only when the address and password fit users of several tenants' })),
}, { additionalProperties: false });

/** POST /me/password */
export const PasswordChange = Type.Object({ currentPassword: Password, newPassword: Password }, { additionalProperties: false });
