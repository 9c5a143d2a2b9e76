bool flag[2];
byte turn;
byte incrit;

active [2] proctype P() {
  byte i = _pid;
again:
  flag[i] = 1;
  turn = 1 - i;
  (flag[1 - i] == 0 || turn == i);
  incrit++;
  incrit--;
  flag[i] = 0;
  goto again
}
